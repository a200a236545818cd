"""A real EC2 API on loopback (moto's ThreadedMotoServer) and a stand-in for cloud-init.

``CloudInit`` watches the fake cloud for running instances of the owners it is told
about, reads each one's user-data back from the EC2 API and runs it on this machine in a
process group of its own, with the environment a Pypes image would give it (``pypes``
from this venv, the loopback address, a free port). So the real boot script starts a real
worker. When an instance is terminated through the API, its process group is killed.

Test modules import the fixtures from here (``from ec2_fixtures import ...``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

PYPES_BIN = Path(sys.executable).with_name("pypes")
REGION = "us-east-1"
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
           "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_DEFAULT_REGION",
           "AWS_REGION", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")


@dataclass
class MotoCloud:
    """One moto EC2 endpoint, and credentials that must never leak anywhere."""

    endpoint_url: str
    region: str
    image_id: str
    access_key: str
    secret_key: str

    def client(self) -> Any:
        return boto3.client("ec2", endpoint_url=self.endpoint_url, region_name=self.region)

    def env(self) -> dict[str, str]:
        """The environment a master process gets its credentials from (boto3's chain)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_DEFAULT_REGION": self.region, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}

    def ec2_params(self, **more: Any) -> dict[str, Any]:
        """A composite's ``ec2`` params for this cloud; the worker on a free local port."""
        return {"endpoint_url": self.endpoint_url, "region_name": self.region,
                "image_id": self.image_id, "instance_type": "t3.micro", "worker_port": 0,
                "register_timeout": 30, **more}

    def instances(self, owner: str) -> list[dict[str, Any]]:
        reply = self.client().describe_instances(
            Filters=[{"Name": "tag:pypes:owner", "Values": [owner]}])
        return [i for r in reply["Reservations"] for i in r["Instances"]]

    def states(self, owner: str) -> dict[str, str]:
        return {i["InstanceId"]: i["State"]["Name"] for i in self.instances(owner)}

    def user_data(self, instance_id: str) -> str:
        reply = self.client().describe_instance_attribute(InstanceId=instance_id,
                                                          Attribute="userData")
        value = reply.get("UserData", {}).get("Value", "")
        return base64.b64decode(value).decode() if value else ""


@dataclass
class Boot:
    """One instance's boot on this machine."""

    instance_id: str
    script: str
    pgid: int
    log: Path
    output: Path
    killed: bool = False


@dataclass
class CloudInit:
    """Plays cloud-init for the instances of ``owners`` (see the module docstring)."""

    cloud: MotoCloud
    workdir: Path
    owners: set[str] = field(default_factory=set)
    env: dict[str, str] = field(default_factory=dict)
    boots: dict[str, Boot] = field(default_factory=dict)
    interval: float = 0.2
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def watch(self, owner: str) -> None:
        self.owners.add(owner)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cloud-init", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        client = self.cloud.client()
        while not self._stop.wait(self.interval):
            if not self.owners:
                continue
            try:
                reply = client.describe_instances(
                    Filters=[{"Name": "tag:pypes:owner", "Values": sorted(self.owners)}])
            except Exception:  # noqa: BLE001 - the endpoint is going away at teardown
                continue
            for reservation in reply["Reservations"]:
                for inst in reservation["Instances"]:
                    iid, state = inst["InstanceId"], inst["State"]["Name"]
                    if state == "running" and iid not in self.boots:
                        self.boot(iid)
                    elif state in ("shutting-down", "terminated", "stopped") \
                            and iid in self.boots:
                        self.kill(self.boots[iid])

    def boot(self, instance_id: str) -> Boot:
        script = self.cloud.user_data(instance_id)
        path = self.workdir / f"{instance_id}.sh"
        path.write_text(script)
        log = self.workdir / f"{instance_id}.worker.log"
        output = self.workdir / f"{instance_id}.cloud-init.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"PYPES_BIN": str(PYPES_BIN), "PYPES_ADVERTISE_HOST": "127.0.0.1",
                    "PYPES_WORKER_PORT": "0", "PYPES_LOG": str(log), "PYPES_NO_SYSTEMD": "1",
                    **self.env})
        with output.open("wb") as out:
            proc = subprocess.Popen(["/bin/sh", str(path)], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, env=env,
                                    cwd=self.workdir, start_new_session=True)
        boot = Boot(instance_id, script, proc.pid, log, output)
        self.boots[instance_id] = boot
        threading.Thread(target=proc.wait, daemon=True).start()  # reap the shell
        return boot

    def kill(self, boot: Boot) -> None:
        if boot.killed:
            return
        boot.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(boot.pgid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(boot.pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(boot.pgid, signal.SIGKILL)

    def running(self) -> list[str]:
        """Instances whose boot process group still has a live process."""
        alive = []
        for iid, boot in self.boots.items():
            try:
                os.killpg(boot.pgid, 0)
                alive.append(iid)
            except ProcessLookupError:
                pass
        return alive

    def logs(self) -> str:
        """Everything the boots wrote: cloud-init's output and the workers' logs."""
        text = []
        for boot in self.boots.values():
            for path in (boot.output, boot.log):
                if path.exists():
                    text.append(path.read_text(errors="replace"))
        return "\n".join(text)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for boot in self.boots.values():
            self.kill(boot)




@dataclass
class Master:
    """A ``pypes serve`` process; everything it writes to stderr is kept in ``log``."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    config: Path

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the master did not stop within {timeout} s of {sig}")


@contextlib.contextmanager
def pypes_master(config: Path, env: dict[str, str], *args: str) -> Iterator[Master]:
    """``pypes serve --port 0`` on ``config``, with ``env`` (credentials, ``PYPES_*``) added
    to a clean environment; stopped with SIGTERM at the end unless already stopped."""
    config.mkdir(parents=True, exist_ok=True)
    log = config.parent / f"{config.name}.master.log"
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("AWS_", "PYPES_"))}
    proc = subprocess.Popen(
        [str(PYPES_BIN), "serve", "--port", "0", "--config", str(config), *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**clean, "PYTHONUNBUFFERED": "1", **env}, start_new_session=True)
    found: dict[str, str] = {}
    listening = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        with log.open("wb") as out:
            for line in proc.stderr:
                out.write(line)
                out.flush()
                match = re.search(rb"Pypes serving .* on (http://\S+)", line)
                if match and not listening.is_set():
                    found["url"] = match.group(1).decode()
                    listening.set()
        listening.set()

    threading.Thread(target=pump, daemon=True).start()
    if not listening.wait(60) or "url" not in found:
        proc.kill()
        proc.wait()
        pytest.fail(f"pypes serve did not start:\n{log.read_text(errors='replace')}")
    master = Master(found["url"], proc, log, config)
    try:
        yield master
    finally:
        if proc.poll() is None:
            master.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[tuple[str, str]]:
    """A moto EC2 endpoint on a loopback port, for this test process; and a valid AMI id."""
    import moto.settings
    from moto.server import ThreadedMotoServer

    moto.settings.ENABLE_AMI_VALIDATION = True  # a bad image id fails as on AWS
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    with _fake_credentials():
        client = boto3.client("ec2", endpoint_url=url, region_name=REGION)
        image_id = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    yield url, image_id
    server.stop()


@contextlib.contextmanager
def _fake_credentials() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def cloud(moto_endpoint: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> MotoCloud:
    """The moto endpoint with fresh fake credentials in this process's environment."""
    url, image_id = moto_endpoint
    found = MotoCloud(url, REGION, image_id, access_key="AKIA" + secrets.token_hex(8).upper(),
                      secret_key="pypes-test-secret-" + secrets.token_hex(12))
    for key in AWS_ENV:
        monkeypatch.delenv(key, raising=False)
    for key, value in found.env().items():
        monkeypatch.setenv(key, value)
    return found


@pytest.fixture
def cloud_init(cloud: MotoCloud, tmp_path: Path) -> Iterator[CloudInit]:
    """Boots every running instance of the owners it is told to ``watch``."""
    workdir = tmp_path / "instances"
    workdir.mkdir()
    player = CloudInit(cloud, workdir)
    player.start()
    yield player
    player.stop()


@pytest.fixture
def owner() -> str:
    """A server id of this test's own: tests sharing the endpoint never see each other."""
    return "pypes-test-" + secrets.token_hex(6)
