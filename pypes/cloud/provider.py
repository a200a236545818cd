"""Provider: how a composite gets Pypes worker instances, and gets rid of them.

A provider starts an instance that runs ``pypes worker --master URL --token T --id ID``.
The worker registers itself with the master (``POST /workers/register``), which is how the
composite learns the worker's URL; the provider only starts, watches and stops instances.
``local`` starts processes on this machine, ``ec2`` virtual machines in an EC2-compatible
cloud. Every method runs on the engine's asyncio loop and must not block it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class WorkerSpec:
    """What one worker instance needs to start and find its master."""

    worker_id: str  # unique per instance, e.g. "<composite id>-<n>-<random>"
    token: str  # the only token this worker accepts, and its proof when registering
    master_url: str  # where the worker registers (reachable from the instance)
    composite: str  # the owning composite's component id (for tags and logs)


@dataclass
class Instance:
    """One started worker, as the provider knows it."""

    spec: WorkerSpec
    provider: str
    handle: str  # the process id, or the cloud's instance id
    details: dict[str, Any] = field(default_factory=dict)  # shown by GET /workers


class ProviderError(Exception):
    """An instance could not be started or stopped; the message is the cause, for users."""


class Provider(ABC):
    """Starts and stops worker instances for composites."""

    name: ClassVar[str]

    @abstractmethod
    async def launch(self, spec: WorkerSpec) -> Instance:
        """Start an instance (return once it is started, not once it has registered)."""

    @abstractmethod
    async def alive(self, instance: Instance) -> bool:
        """False once the instance has died or been terminated."""

    @abstractmethod
    async def terminate(self, instance: Instance) -> None:
        """Stop the instance and wait until it is gone. Safe to call twice."""

    def failure(self, instance: Instance) -> str | None:
        """Why the instance died or would not start, in its own words when the provider
        can tell (a process's last error lines, a cloud's state reason); else ``None``."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional for providers
        """Release the provider's own resources (clients, pools)."""
