# Two commands do everything on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
UI_OUT := ui/dist/index.html
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT   ?= 8080

APT_GET := $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq

.PHONY: install run test bench chromium wrk lint clean

install: $(STAMP) $(UI_OUT)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

$(UI_OUT): $(wildcard ui/package.json ui/package-lock.json ui/index.html ui/vite.config.* ui/src/* ui/src/*/*)
	cd ui && npm ci --no-audit --no-fund && npm run build

chromium wrk:  # Debian's packages: the test browser, the benchmarks' load generator
	@command -v $@ >/dev/null || { $(APT_GET) $@; }

run: install
	$(VENV)/bin/pypes serve --host 127.0.0.1 --port $(PORT) --config config

test: install chromium
	$(PY) -m pytest -n 2 -q

bench: install wrk
	$(PY) -m bench.engine
	$(PY) -m bench.http
	$(PY) -m bench.composite
	$(PY) -m bench.scale

lint: install
	$(VENV)/bin/ruff check pypes tests bench
	$(VENV)/bin/mypy pypes

clean:
	rm -rf $(VENV) ui/node_modules ui/dist
