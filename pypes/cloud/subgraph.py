"""A composite's subgraph: checked, and made ready to take documents over ``POST /docs``.

Documents enter a subgraph at its Adapters (those without a ``route``), as with
``/docs``; a subgraph without one takes them at every component whose ``in`` port no wire
feeds, through a ``JsonReader`` added in front. What reaches its ``Collect`` publishers
are the composite's results, so a subgraph without a Collect is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pypes.component import Component
from pypes.errors import GraphError
from pypes.graph import Graph


@cache
def installed_classes() -> Mapping[str, type[Component]]:
    """The installed palette, as a worker started from this installation sees it."""
    from pypes.components.registry import Registry

    return Registry.discover()


@dataclass
class Subgraph:
    """A subgraph as a worker runs it."""

    graph: Graph  # with the added entry, if any
    collects: list[str]  # ids of the Collect publishers: where results come from

    @property
    def empty(self) -> bool:
        return not self.graph.components

    def dump(self) -> dict[str, Any]:
        return self.graph.dump()


def _is_collect(cls: type[Component] | None) -> bool:
    from pypes.components.publishers import Collect

    return cls is not None and issubclass(cls, Collect)


def prepare(source: Mapping[str, Any] | Graph,
            classes: Mapping[str, type[Component]] | None = None) -> Subgraph:
    """Check ``source`` and return it ready to run; raise GraphError naming each problem.

    An empty subgraph is allowed (a composite just dropped on the canvas): it has nothing
    to run, and the composite says so in its state.
    """
    classes = classes if classes is not None else installed_classes()
    graph = source.model_copy(deep=True) if isinstance(source, Graph) else Graph.load(source)
    graph.check(classes)
    if not graph.components:
        return Subgraph(graph, [])
    problems = []
    collects = [c.id for c in graph.components if _is_collect(classes.get(c.class_))]
    if not collects:
        problems.append("it has no Collect publisher, so no results would come back: "
                        "end it in a Collect")
    adapters = [c for c in graph.components
                if (cls := classes.get(c.class_)) is not None and cls.type == "Adapter"
                and "in" in cls.inputs and not c.params.get("route")]
    if not adapters:
        fed = {tuple(w.to) for w in graph.wires}
        sources = [c.id for c in graph.components
                   if (cls := classes.get(c.class_)) is not None and "in" in cls.inputs
                   and (c.id, "in") not in fed]
        if not sources:
            problems.append("it has no entry: add an Adapter (JsonReader) or leave a "
                            "component's 'in' port unwired")
        else:
            entry = _free_id(graph, "entry")
            graph.add_component("JsonReader", entry, {}, (0.0, 0.0))
            for target in sources:
                graph.add_wire((entry, "out"), (target, "in"))
    if problems:
        raise GraphError(problems)
    return Subgraph(graph, collects)


def problems(source: Any, classes: Mapping[str, type[Component]] | None = None) -> list[str]:
    """What is wrong with a subgraph, each line naming the component at fault."""
    if not isinstance(source, (Mapping, Graph)):
        return ["must be a Pypes graph (a JSON object)"]
    try:
        prepare(source, classes)
    except GraphError as exc:
        return exc.problems
    return []


def _free_id(graph: Graph, stem: str) -> str:
    name, n = stem, 1
    while graph.component(name) is not None:
        n += 1
        name = f"{stem}{n}"
    return name
