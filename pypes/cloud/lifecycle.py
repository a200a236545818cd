"""Lifecycle: the states a composite and each of its workers go through, as a table.

Rules (the table below is the only place they live):

* ``provisioning``: instances are being started; documents that arrive wait (bounded).
* ``configuring``: an instance registered and is being given the subgraph (``PUT /graph``).
* ``ready``: documents flow. A composite is ready while at least one worker is.
* ``draining``: deleted, replaced or the server stops: in-flight batches get to finish.
* ``terminated``: every instance is gone. Final.
* ``failed``: something could not be done; ``reason`` says what, in the words of whoever
  refused (the worker, the cloud). A failed composite can be reconfigured (back to
  ``provisioning``) or removed (``draining``).

A move the table does not list raises ``LifecycleError``: it is a bug, not a user error.
"""

from __future__ import annotations

import time
from collections.abc import Callable

STATES = ("provisioning", "configuring", "ready", "draining", "terminated", "failed")

TRANSITIONS: dict[str, frozenset[str]] = {
    "provisioning": frozenset({"configuring", "failed", "draining"}),
    "configuring": frozenset({"ready", "provisioning", "failed", "draining"}),
    "ready": frozenset({"configuring", "provisioning", "failed", "draining"}),
    "draining": frozenset({"terminated", "failed"}),
    "failed": frozenset({"provisioning", "draining", "terminated"}),
    "terminated": frozenset(),
}


class LifecycleError(Exception):
    """A transition the table does not allow."""


class Lifecycle:
    """One state from ``STATES``, the reason when failed, and when it was entered."""

    def __init__(self, state: str = "provisioning",
                 on_change: Callable[[str], None] | None = None) -> None:
        if state not in TRANSITIONS:
            raise LifecycleError(f"unknown state {state!r}")
        self.state = state
        self.reason: str | None = None
        self.since = time.monotonic()
        self._on_change = on_change
        if on_change is not None:
            on_change(state)

    def can(self, state: str) -> bool:
        return state == self.state or state in TRANSITIONS[self.state]

    def to(self, state: str, reason: str | None = None) -> None:
        """Move to ``state`` (staying put is allowed); ``reason`` is kept only for failed."""
        if state == self.state:
            if reason is not None:
                self.reason = reason
            return
        if state not in TRANSITIONS[self.state]:
            raise LifecycleError(f"cannot go from {self.state!r} to {state!r}")
        self.state = state
        self.reason = reason if state == "failed" else None
        self.since = time.monotonic()
        if self._on_change is not None:
            self._on_change(state)

    @property
    def final(self) -> bool:
        return self.state == "terminated"

    def __repr__(self) -> str:
        extra = f": {self.reason}" if self.reason else ""
        return f"<Lifecycle {self.state}{extra}>"
