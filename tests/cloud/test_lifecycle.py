"""The composite lifecycle is a table: allowed moves pass, others raise."""

from __future__ import annotations

import pytest

from pypes.cloud.lifecycle import STATES, TRANSITIONS, Lifecycle, LifecycleError


def test_the_normal_life_of_a_composite() -> None:
    seen: list[str] = []
    life = Lifecycle(on_change=seen.append)
    for state in ("configuring", "ready", "draining", "terminated"):
        life.to(state)
    assert seen == ["provisioning", "configuring", "ready", "draining", "terminated"]
    assert life.final


def test_failed_keeps_its_reason_and_can_be_retried_or_removed() -> None:
    life = Lifecycle()
    life.to("failed", "worker w1: the worker refused the subgraph")
    assert life.state == "failed" and "refused" in (life.reason or "")
    life.to("provisioning")
    assert life.reason is None
    life.to("failed", "again")
    life.to("draining")
    life.to("terminated")


@pytest.mark.parametrize(("start", "target"), [
    ("provisioning", "ready"), ("terminated", "provisioning"), ("draining", "ready"),
])
def test_a_move_the_table_does_not_list_raises(start: str, target: str) -> None:
    life = Lifecycle(start)
    with pytest.raises(LifecycleError):
        life.to(target)


def test_the_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(STATES)
    assert all(targets <= set(STATES) for targets in TRANSITIONS.values())
