"""The boot script on its own: how it starts ``pypes worker`` from what the instance can
learn about itself (instance metadata, or the environment the image sets)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from pypes.cloud.provider import ProviderError, WorkerSpec
from pypes.cloud.userdata import render_user_data

pytestmark = pytest.mark.cloud

FAKE_PYPES = """#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/argv"
"""


def boot(tmp_path: Path, **env: str) -> list[str]:
    """Run the rendered user-data with a stand-in ``pypes``; return the worker's argv."""
    fake = tmp_path / "pypes"
    fake.write_text(FAKE_PYPES)
    fake.chmod(0o755)
    script = tmp_path / "user-data.sh"
    script.write_text(render_user_data(WorkerSpec("heavy-0-abc", "secret-token",
                                                  "http://10.0.0.5:8080", "heavy")))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYPES_")}
    done = subprocess.run(
        ["/bin/sh", str(script)], capture_output=True, text=True, timeout=30,
        env={**clean, "PYPES_BIN": str(fake), "PYPES_NO_SYSTEMD": "1",
             "PYPES_LOG": str(tmp_path / "worker.log"), **env})
    assert done.returncode == 0, done.stderr
    assert "secret-token" not in done.stdout + done.stderr
    argv = tmp_path / "argv"
    deadline = time.monotonic() + 10
    while not (argv.exists() and argv.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "secret-token" not in (tmp_path / "worker.log").read_text()
    return argv.read_text().splitlines()


def test_the_image_port_and_the_metadata_address_are_advertised(tmp_path: Path) -> None:
    argv = boot(tmp_path, PYPES_ADVERTISE_HOST="10.1.2.3")
    assert argv == ["worker", "--master=http://10.0.0.5:8080", "--token=secret-token",
                    "--id=heavy-0-abc", "--host=0.0.0.0", "--port=8081",
                    "--advertise=http://10.1.2.3:8081"]


def test_without_metadata_the_worker_stays_on_loopback(tmp_path: Path) -> None:
    argv = boot(tmp_path, PYPES_WORKER_PORT="0")
    assert "--host=127.0.0.1" in argv and "--port=0" in argv
    assert not [a for a in argv if a.startswith("--advertise")]


def test_a_template_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "bad.tmpl"
    template.write_text("#!/bin/sh\nexec pypes worker --zone @zone@\n")
    with pytest.raises(ProviderError, match="unknown placeholder @zone@"):
        render_user_data(WorkerSpec("w", "t", "http://m", "c"), template=template)
