"""The ``ec2`` provider: Pypes workers as virtual machines in an EC2-compatible cloud
(AWS, Eucalyptus, OpenStack's EC2 API), booted from a Pypes machine image (``images/``).

Each worker is one instance started with ``RunInstances``: the image, cloud-init user-data
that starts ``pypes worker`` (``pypes.cloud.userdata``), and tags naming the owning
server (``pypes:owner``), composite (``pypes:component``) and worker (``pypes:worker``),
so that every instance can be accounted for and the server can terminate its own orphans
after a crash (``reap_orphans``). boto3 blocks, so every call runs in a thread executor.

Credentials come only from boto3's standard chain (environment, ``~/.aws``, instance
role): never from params, so never in a graph, an export, a log or ``/stats``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)

from pypes.cloud.ec2_settings import Ec2Settings
from pypes.cloud.provider import Instance, Provider, ProviderError, WorkerSpec
from pypes.cloud.userdata import render_user_data

log = logging.getLogger("pypes.cloud.ec2")
# botocore logs whole request bodies at DEBUG, user-data (and so the worker token) included.
for _name in ("botocore", "boto3"):
    logging.getLogger(_name).setLevel(logging.INFO)

LIVE_STATES = ("pending", "running")
OWNED_STATES = ("pending", "running", "stopping", "stopped")
T = TypeVar("T")
__all__ = ["Ec2Provider", "Ec2Settings", "ec2_provider", "reap_orphans", "sweep_at_start"]


def make_client(config: Ec2Settings) -> Any:
    """A boto3 EC2 client; credentials from the standard chain. Fails fast when the
    endpoint is unreachable rather than retrying for minutes."""
    session = boto3.session.Session()
    return session.client(
        "ec2",
        endpoint_url=config.endpoint_url or None,
        region_name=config.region_name or None,
        config=Config(connect_timeout=5, read_timeout=30,
                      retries={"max_attempts": 3, "mode": "standard"}),
    )


def cloud_error(action: str, exc: Exception) -> ProviderError:
    """The cloud's own message, for users; never a traceback, never a credential."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = error.get("Message") or str(exc)
        return ProviderError(f"EC2 {action} failed: {code}: {message}")
    if isinstance(exc, NoCredentialsError):
        return ProviderError(
            f"EC2 {action} failed: no AWS credentials found; give them to the server through "
            "boto3's standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "~/.aws/credentials or an instance role)")
    if isinstance(exc, NoRegionError):
        return ProviderError(
            f"EC2 {action} failed: no region; set ec2.region_name or AWS_DEFAULT_REGION")
    if isinstance(exc, BotoCoreError):
        return ProviderError(f"EC2 {action} failed: {exc}")
    return ProviderError(f"EC2 {action} failed: {type(exc).__name__}: {exc}")


def _is_not_found(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get(
        "Code", "").startswith("InvalidInstanceID")


def reap_orphans(client: Any, owner: str, keep: Iterable[str] = ()) -> list[str]:
    """Terminate the instances tagged ``pypes:owner=owner`` that are not in ``keep``
    (those a crashed server left running); return their ids. Blocking."""
    kept = set(keep)
    orphans: list[tuple[str, dict[str, str]]] = []
    try:
        pages = client.get_paginator("describe_instances").paginate(Filters=[
            {"Name": "tag:pypes:owner", "Values": [owner]},
            {"Name": "instance-state-name", "Values": list(OWNED_STATES)},
        ])
        for page in pages:
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    if inst["InstanceId"] not in kept:
                        tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
                        orphans.append((inst["InstanceId"], tags))
        ids = [iid for iid, _ in orphans]
        for start in range(0, len(ids), 500):
            client.terminate_instances(InstanceIds=ids[start:start + 500])
    except (BotoCoreError, ClientError) as exc:
        raise cloud_error("orphan sweep", exc) from None
    for iid, tags in orphans:
        log.warning("terminated orphan instance %s (composite %s, worker %s) of server %s",
                    iid, tags.get("pypes:component", "?"), tags.get("pypes:worker", "?"), owner)
    return [iid for iid, _ in orphans]


class OrphanSweeps:
    """The sweeps started when the server starts, one per cloud: a launch on that cloud
    waits for its sweep, so a sweep never mistakes a fresh instance for an orphan."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str, str], Future[list[str]]] = {}

    def start(self, config: Ec2Settings, owner: str,
              client_factory: Callable[[Ec2Settings], Any] = make_client) -> Future[list[str]]:
        key = (*config.target, owner)
        with self._lock:
            if key in self._running:
                return self._running[key]
            future: Future[list[str]] = Future()
            self._running[key] = future

        def sweep() -> None:
            try:
                future.set_result(reap_orphans(client_factory(config), owner))
            except Exception as exc:  # noqa: BLE001 - a failed sweep must not stop the server
                log.warning("orphan sweep of %s failed: %s", config.endpoint_url or "AWS", exc)
                future.set_exception(exc)

        threading.Thread(target=sweep, name="pypes-ec2-orphan-sweep", daemon=True).start()
        return future

    async def wait(self, config: Ec2Settings, owner: str, timeout: float = 60) -> None:
        with self._lock:
            future = self._running.get((*config.target, owner))
        if future is None or future.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout)
        except Exception:  # noqa: BLE001, S110 - the sweep logs its own failure
            pass


SWEEPS = OrphanSweeps()


def sweep_at_start(defaults: Mapping[str, Any], owner: str,
                   composites: Iterable[Mapping[str, Any]] = ()) -> list[Future[list[str]]]:
    """Start sweeping for this server's orphans on every cloud it is configured for (in
    the background; launches on a cloud wait for its sweep)."""
    return [SWEEPS.start(config, owner) for config in sweep_targets(defaults, composites)]


def sweep_now(defaults: Mapping[str, Any], owner: str,
              composites: Iterable[Mapping[str, Any]] = ()) -> None:
    """Sweep for this server's orphans on this thread, before anything is launched (for
    ``serve --workers N``: run before the processes are forked)."""
    for config in sweep_targets(defaults, composites):
        try:
            reap_orphans(make_client(config), owner)
        except Exception as exc:  # noqa: BLE001 - a failed sweep must not stop the server
            log.warning("orphan sweep of %s failed: %s", config.endpoint_url or "AWS", exc)


def sweep_targets(defaults: Mapping[str, Any],
                  composites: Iterable[Mapping[str, Any]] = ()) -> list[Ec2Settings]:
    """Every cloud this server is configured for: the server-wide ``[ec2]`` settings and
    each ec2 composite's (``composites`` are params)."""
    targets: dict[tuple[str, str], Ec2Settings] = {}
    if defaults:
        try:
            config = Ec2Settings.merged(defaults, None)
            targets[config.target] = config
        except ProviderError as exc:
            log.warning("[ec2] settings: %s", exc)
    for params in composites:
        try:
            config = Ec2Settings.merged(defaults, params.get("ec2"))
        except ProviderError:
            continue
        targets.setdefault(config.target, config)
    return list(targets.values())


class Ec2Provider(Provider):
    """Starts each worker as an instance of the Pypes image and terminates it after."""

    name = "ec2"

    def __init__(self, config: Ec2Settings, owner: str, *,
                 client_factory: Callable[[Ec2Settings], Any] = make_client) -> None:
        self.config = config
        self.owner = owner
        self._client_factory = client_factory
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._instances: dict[str, Instance] = {}  # launched and not yet terminated
        # how often a composite asks whether an instance still runs: one DescribeInstances
        # per worker each time, and EC2 throttles that API per account
        self.poll_interval = 10.0
        self.terminate_poll = 2.0

    def _ec2(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._client_factory(self.config)
            return self._client

    async def _call(self, action: str, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)`` on a thread; cloud errors become ProviderError."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(None, lambda: fn(self._ec2()))
        except (BotoCoreError, ClientError) as exc:
            raise cloud_error(action, exc) from None

    def tags(self, spec: WorkerSpec) -> list[dict[str, str]]:
        return [
            {"Key": "Name", "Value": f"pypes worker {spec.worker_id}"},
            {"Key": "pypes:owner", "Value": self.owner},
            {"Key": "pypes:component", "Value": spec.composite},
            {"Key": "pypes:worker", "Value": spec.worker_id},
        ]

    def run_request(self, spec: WorkerSpec) -> dict[str, Any]:
        """The RunInstances arguments for ``spec`` (user-data holds the token: not for logs)."""
        config = self.config
        if not config.image_id:
            raise ProviderError("ec2: no image_id; set it in the composite's ec2 params or "
                                "as image_id under [ec2] in pypes.toml")
        boot = replace(spec, master_url=config.master_url or spec.master_url)
        tags = self.tags(spec)
        request: dict[str, Any] = {
            "ImageId": config.image_id,
            "InstanceType": config.instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "UserData": render_user_data(boot, worker_port=config.worker_port,
                                         pypes_bin=config.pypes_bin),
            "TagSpecifications": [{"ResourceType": "instance", "Tags": tags},
                                  {"ResourceType": "volume", "Tags": tags}],
            # a retried request never starts a second instance for the same worker
            "ClientToken": spec.worker_id[:64],
            # an instance that shuts itself down stops costing money
            "InstanceInitiatedShutdownBehavior": "terminate",
        }
        if config.key_name:
            request["KeyName"] = config.key_name
        if config.security_group_ids:
            request["SecurityGroupIds"] = list(config.security_group_ids)
        if config.subnet_id:
            request["SubnetId"] = config.subnet_id
        return request

    async def launch(self, spec: WorkerSpec) -> Instance:
        await SWEEPS.wait(self.config, self.owner)
        request = self.run_request(spec)
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(None, lambda: self._ec2().run_instances(**request))
        except ReadTimeoutError as exc:
            # the cloud may have started it without telling us: find it by its tag
            await loop.run_in_executor(None, self._terminate_tagged, spec.worker_id)
            raise cloud_error("RunInstances", exc) from None
        except (BotoCoreError, ClientError) as exc:
            raise cloud_error("RunInstances", exc) from None
        found = reply["Instances"][0]
        iid = found["InstanceId"]
        instance = Instance(spec=spec, provider=self.name, handle=iid, details={
            "instance_id": iid,
            "state": found.get("State", {}).get("Name", "pending"),
            "image_id": self.config.image_id,
            "instance_type": self.config.instance_type,
            "region": self.config.region_name,
            "private_ip": found.get("PrivateIpAddress"),
        })
        self._instances[iid] = instance
        log.info("started instance %s for worker %s of composite %s (image %s, master %s)",
                 iid, spec.worker_id, spec.composite, self.config.image_id,
                 self.config.master_url or spec.master_url)
        return instance

    def _terminate_tagged(self, worker_id: str) -> None:
        """Best effort: terminate whatever runs tagged as ``worker_id``. Blocking."""
        try:
            reply = self._ec2().describe_instances(Filters=[
                {"Name": "tag:pypes:worker", "Values": [worker_id]},
                {"Name": "tag:pypes:owner", "Values": [self.owner]}])
            ids = [i["InstanceId"] for r in reply["Reservations"] for i in r["Instances"]]
            if ids:
                self._ec2().terminate_instances(InstanceIds=ids)
                log.warning("terminated %s, started for worker %s by a RunInstances whose "
                            "answer never came", ", ".join(ids), worker_id)
        except (BotoCoreError, ClientError) as exc:
            log.warning("cannot look for an instance of worker %s: %s", worker_id,
                        cloud_error("DescribeInstances", exc))

    async def state(self, instance: Instance) -> str:
        """The instance's state as the cloud reports it (``gone`` once unknown to it)."""
        loop = asyncio.get_running_loop()

        def describe() -> str:
            reply = self._ec2().describe_instances(InstanceIds=[instance.handle])
            for reservation in reply["Reservations"]:
                for inst in reservation["Instances"]:
                    reason = inst.get("StateReason", {}).get("Message")
                    if reason:
                        instance.details["state_reason"] = reason
                    if inst.get("PrivateIpAddress"):
                        instance.details["private_ip"] = inst["PrivateIpAddress"]
                    return str(inst["State"]["Name"])
            return "gone"

        try:
            state = await loop.run_in_executor(None, describe)
        except (BotoCoreError, ClientError) as exc:
            if _is_not_found(exc):
                state = "gone"
            else:
                raise cloud_error("DescribeInstances", exc) from None
        instance.details["state"] = state
        return state

    async def alive(self, instance: Instance) -> bool:
        try:
            return await self.state(instance) in LIVE_STATES
        except ProviderError as exc:
            # the cloud API failing is not the instance dying: say alive, let the worker's
            # own silence decide
            log.warning("cannot check instance %s: %s", instance.handle, exc)
            return True

    async def terminate(self, instance: Instance) -> None:
        iid = instance.handle
        if instance.details.get("state") == "terminated":
            self._instances.pop(iid, None)
            return
        try:
            await self._call("TerminateInstances",
                             lambda ec2: ec2.terminate_instances(InstanceIds=[iid]))
        except ProviderError as exc:
            if "InvalidInstanceID" not in str(exc):
                raise
        deadline = time.monotonic() + self.config.terminate_timeout
        state = await self.state(instance)
        while state not in ("terminated", "gone") and time.monotonic() < deadline:
            await asyncio.sleep(self.terminate_poll)
            state = await self.state(instance)
        self._instances.pop(iid, None)
        if state in ("terminated", "gone"):
            instance.details["state"] = "terminated"
            log.info("terminated instance %s (worker %s)", iid, instance.spec.worker_id)
        else:
            log.warning("instance %s still %s %.0f s after TerminateInstances", iid, state,
                        self.config.terminate_timeout)

    def failure(self, instance: Instance) -> str | None:
        """What the cloud says about an instance whose worker died or never registered."""
        state = instance.details.get("state", "unknown")
        reason = instance.details.get("state_reason")
        master = self.config.master_url or instance.spec.master_url
        if state in LIVE_STATES:
            return (f"instance {instance.handle} is {state} but its worker has not registered "
                    f"with {master}: check that the image has pypes and that the instance can "
                    "reach that URL (its console output tells more)")
        return f"instance {instance.handle} is {state}" + (f": {reason}" if reason else "")

    async def reap_orphans(self, owner: str | None = None, keep: Iterable[str] = ()) -> list[str]:
        """Terminate instances tagged with ``owner`` (this server) not in ``keep``; the ones
        this provider launched are always kept."""
        kept = {*keep, *self._instances}
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: reap_orphans(self._ec2(), owner or self.owner, kept))

    async def close(self) -> None:
        """Terminate whatever this provider started and nobody terminated: an instance left
        running costs money and no one would see it."""
        left = list(self._instances.values())
        if left:
            log.warning("terminating %d instance(s) left running by composite %s", len(left),
                        left[0].spec.composite)
            await asyncio.gather(*(self.terminate(i) for i in left), return_exceptions=True)
        self._client = None


def ec2_provider(params: Ec2Settings | Mapping[str, Any] | None, settings: Any) -> Ec2Provider:
    """The provider for a composite's ``ec2`` params, over the server's ``[ec2]`` defaults;
    ``settings`` is the server's ``Settings`` (its id becomes the ``pypes:owner`` tag)."""
    defaults = getattr(settings, "ec2", None) or {}
    return Ec2Provider(Ec2Settings.merged(defaults, params), settings.server_id())
