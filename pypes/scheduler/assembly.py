"""Assembly: a checked graph turned into wired component instances.

Running instances are kept where their class and params are unchanged (or where they take
new params in place), so a Collect keeps what it holds and a composite keeps its workers
across edits; a replaced instance hands the documents queued on it to its successor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from greenlet import GreenletExit

from pypes.component import Component, Context
from pypes.errors import GraphError
from pypes.graph import Graph
from pypes.scheduler.core import wire

log = logging.getLogger("pypes.engine")


@dataclass
class Assembly:
    """The instances of a graph: all of them, the new ones, and the old ones let go."""

    components: dict[str, Component]
    created: list[Component]
    removed: list[Component]


def assemble(
    graph: Graph,
    classes: Mapping[str, type[Component]],
    previous: Mapping[str, Component],
    context: Context,
    wire_capacity: int,
    discard: Callable[[Component], None],
) -> Assembly:
    """Instances for ``graph`` (already checked), wired. If one cannot be made, the ones
    made so far are handed to ``discard`` and a GraphError names the component."""
    components: dict[str, Component] = {}
    created: list[Component] = []
    try:
        for spec in graph.components:
            cls = classes[spec.class_]
            params = cls.Params.model_validate(spec.params)
            old = previous.get(spec.id)
            if old is not None and type(old) is cls and (
                old.params == params or old.reconfigure(params)
            ):
                old.params = params
                components[spec.id] = old
                continue
            try:
                component = cls(spec.id, params)
            except Exception as exc:  # noqa: BLE001 - a user's params can make __init__ fail
                raise GraphError(f"component {spec.id!r}: {exc}") from None
            component.context = context
            component.wire_capacity = wire_capacity
            components[spec.id] = component
            created.append(component)
    except BaseException:
        for component in created:
            discard(component)
        raise
    wire(components, graph.wires)
    removed = [c for cid, c in previous.items() if components.get(cid) is not c]
    for old in removed:
        successor = components.get(old.id)
        if successor is not None:
            for port, inbox in old._inbox.items():
                if port in successor._inbox:
                    successor._inbox[port].extend(inbox)
                    inbox.clear()
    return Assembly(components, created, removed)


async def close(component: Component) -> None:
    """Stop a component's tasklet and awaited I/O, then let it release its resources."""
    if component.parked is not None:
        component.parked.cancel()
    if component.tasklet is not None and not component.tasklet.dead:
        try:
            component.tasklet.throw(GreenletExit)
        except GreenletExit:
            pass
    try:
        await component.close()
    except Exception:  # noqa: BLE001 - one component's cleanup must not stop the rest
        log.exception("closing component %s failed", component.id)
    if component.state != "failed":
        component.state = "terminated"
