"""The graph model and its JSON format (``"pypes": 1``).

A graph is data: components (id, class, params, canvas position) and wires between
their ports. ``Graph.load`` parses and checks the structure; ``Graph.check`` checks it
against the component classes (unknown class, bad params, missing port, cycle) and
raises ``GraphError`` listing every problem, each naming what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    WithJsonSchema,
)

from pypes.component import Component
from pypes.errors import GraphError, NotFound

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError("must be 1-64 letters, digits, '_', '.' or '-'")
    return value


ComponentId = Annotated[str, AfterValidator(_check_id),
                        WithJsonSchema({"type": "string", "pattern": ID_PATTERN.pattern})]
PortName = Annotated[str, Field(min_length=1, max_length=64)]
Position = tuple[Annotated[float, Strict()], Annotated[float, Strict()]]


class ComponentSpec(BaseModel):
    """One component instance as stored in a graph file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: ComponentId
    class_: str = Field(alias="class")
    params: dict[str, Any] = Field(default_factory=dict)
    position: Position = (0.0, 0.0)

    def dump(self) -> dict[str, Any]:
        return {"id": self.id, "class": self.class_, "params": self.params,
                "position": list(self.position)}


class WireSpec(BaseModel):
    """A wire from an output port to an input port."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = ""
    from_: tuple[ComponentId, PortName] = Field(alias="from")
    to: tuple[ComponentId, PortName]

    def dump(self) -> dict[str, Any]:
        return {"id": self.id, "from": list(self.from_), "to": list(self.to)}


class Graph(BaseModel):
    """A whole graph: the unit that is exported, imported, validated and run."""

    model_config = ConfigDict(extra="forbid")

    pypes: Literal[1] = 1
    name: str = "graph"
    rev: Annotated[int, Strict(), Field(ge=0)] = 0
    components: list[ComponentSpec] = Field(default_factory=list)
    wires: list[WireSpec] = Field(default_factory=list)

    @classmethod
    def load(cls, source: bytes | str | Mapping[str, Any]) -> Graph:
        """Parse a graph from JSON text or a dict; structural problems raise GraphError."""
        if isinstance(source, (bytes, str)):
            try:
                source = orjson.loads(source)
            except orjson.JSONDecodeError as exc:
                raise GraphError(f"graph is not valid JSON: {exc}") from None
        if not isinstance(source, Mapping):
            raise GraphError("graph must be a JSON object")
        try:
            graph = cls.model_validate(source)
        except ValidationError as exc:
            raise GraphError(describe_validation(exc, source)) from None
        graph.number_wires()
        return graph

    def dump(self) -> dict[str, Any]:
        return {
            "pypes": 1,
            "name": self.name,
            "rev": self.rev,
            "components": [c.dump() for c in self.components],
            "wires": [w.dump() for w in self.wires],
        }

    def number_wires(self) -> None:
        """Give every wire without an id the next free ``wN``."""
        taken = {w.id for w in self.wires}
        n = 0
        for wire in self.wires:
            if not wire.id:
                n += 1
                while f"w{n}" in taken:
                    n += 1
                wire.id = f"w{n}"
                taken.add(wire.id)

    def component(self, component_id: str) -> ComponentSpec | None:
        return next((c for c in self.components if c.id == component_id), None)

    def wire(self, wire_id: str) -> WireSpec | None:
        return next((w for w in self.wires if w.id == wire_id), None)

    # edits: each changes this graph in place (the engine hands them a copy)

    def add_component(self, class_name: str, component_id: str | None = None,
                      params: dict[str, Any] | None = None,
                      position: tuple[float, float] | None = None) -> ComponentSpec:
        """Add an instance; without an id it gets the class name in lower case plus a number."""
        if component_id is None:
            stem, n = class_name.lower(), 1
            while self.component(f"{stem}{n}") is not None:
                n += 1
            component_id = f"{stem}{n}"
        elif self.component(component_id) is not None:
            raise GraphError(f"component {component_id!r}: id is already taken")
        try:
            spec = ComponentSpec.model_validate({"id": component_id, "class": class_name,
                                                 "params": params or {},
                                                 "position": position or (0.0, 0.0)})
        except ValidationError as exc:
            raise GraphError(describe_validation(exc)) from None
        self.components.append(spec)
        return spec

    def update_component(self, component_id: str, params: dict[str, Any] | None = None,
                         position: tuple[float, float] | None = None) -> ComponentSpec:
        spec = self.require_component(component_id)
        if params is not None:
            spec.params = params
        if position is not None:
            spec.position = position
        return spec

    def remove_component(self, component_id: str) -> None:
        """Remove an instance and every wire to or from it."""
        self.require_component(component_id)
        self.components = [c for c in self.components if c.id != component_id]
        self.wires = [w for w in self.wires
                      if w.from_[0] != component_id and w.to[0] != component_id]

    def add_wire(self, source: tuple[str, str], target: tuple[str, str],
                 wire_id: str | None = None) -> WireSpec:
        if wire_id and self.wire(wire_id) is not None:
            raise GraphError(f"wire {wire_id!r}: id is already taken")
        if any(tuple(w.from_) == tuple(source) and tuple(w.to) == tuple(target)
               for w in self.wires):
            raise GraphError(f"a wire from {list(source)} to {list(target)} already exists")
        wire = WireSpec.model_validate({"id": wire_id or "", "from": source, "to": target})
        self.wires.append(wire)
        self.number_wires()
        return wire

    def remove_wire(self, wire_id: str) -> None:
        if self.wire(wire_id) is None:
            raise NotFound(f"no wire {wire_id!r}")
        self.wires = [w for w in self.wires if w.id != wire_id]

    def require_component(self, component_id: str) -> ComponentSpec:
        spec = self.component(component_id)
        if spec is None:
            raise NotFound(f"no component {component_id!r}")
        return spec

    def check(self, classes: Mapping[str, type[Component]]) -> None:
        """Raise GraphError naming every unknown class, bad param, bad wire and cycle."""
        problems: list[str] = []
        seen: set[str] = set()
        for spec in self.components:
            if spec.id in seen:
                problems.append(f"component {spec.id!r}: id is used twice")
            seen.add(spec.id)
            cls = classes.get(spec.class_)
            if cls is None:
                problems.append(f"component {spec.id!r}: unknown class {spec.class_!r}")
                continue
            problems.extend(f"component {spec.id!r}: {p}" for p in check_params(cls, spec.params))
        wire_ids: set[str] = set()
        for wire in self.wires:
            if wire.id in wire_ids:
                problems.append(f"wire {wire.id!r}: id is used twice")
            wire_ids.add(wire.id)
            problems.extend(self._check_wire(wire, classes))
        if not problems:
            cycle = self.find_cycle()
            if cycle:
                problems.append("cycle through components " + " -> ".join(cycle))
        if problems:
            raise GraphError(problems)

    def _check_wire(self, wire: WireSpec, classes: Mapping[str, type[Component]]) -> list[str]:
        problems = []
        for end, (cid, port) in (("from", wire.from_), ("to", wire.to)):
            spec = self.component(cid)
            if spec is None:
                problems.append(f"wire {wire.id!r}: no component {cid!r}")
                continue
            cls = classes.get(spec.class_)
            if cls is None:
                continue
            ports = cls.all_outputs() if end == "from" else list(cls.inputs)
            if port not in ports:
                kind = "output" if end == "from" else "input"
                known = ", ".join(ports) or "none"
                problems.append(
                    f"wire {wire.id!r}: component {cid!r} has no {kind} port {port!r} "
                    f"(it has: {known})"
                )
        return problems

    def find_cycle(self) -> list[str]:
        """The components on one cycle, first repeated at the end; [] when acyclic."""
        succ = self.successors()
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> list[str]:
            state[node] = 1
            stack.append(node)
            for nxt in succ.get(node, ()):
                if state.get(nxt) == 1:
                    return stack[stack.index(nxt):] + [nxt]
                if nxt not in state:
                    found = visit(nxt)
                    if found:
                        return found
            stack.pop()
            state[node] = 2
            return []

        for spec in self.components:
            if spec.id not in state:
                found = visit(spec.id)
                if found:
                    return found
        return []

    def successors(self) -> dict[str, list[str]]:
        succ: dict[str, list[str]] = {c.id: [] for c in self.components}
        for wire in self.wires:
            if wire.from_[0] in succ and wire.to[0] not in succ[wire.from_[0]]:
                succ[wire.from_[0]].append(wire.to[0])
        return succ

    def order(self) -> list[str]:
        """Component ids in topological order, ties kept in the order they are listed."""
        succ = self.successors()
        indegree = {c.id: 0 for c in self.components}
        for targets in succ.values():
            for t in targets:
                indegree[t] += 1
        ready = [c.id for c in self.components if indegree[c.id] == 0]
        ordered: list[str] = []
        while ready:
            node = ready.pop(0)
            ordered.append(node)
            for t in succ[node]:
                indegree[t] -= 1
                if indegree[t] == 0:
                    ready.append(t)
        if len(ordered) != len(indegree):
            raise GraphError("cycle through components " + " -> ".join(self.find_cycle()))
        return ordered


def describe_validation(exc: ValidationError, source: Any = None) -> list[str]:
    """Turn pydantic's errors into lines that name the field (and component) at fault."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = _name_location(loc, source)
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        else:
            lines.append(f"{where}: {err['msg']}")
    return lines


def _name_location(loc: list[Any], source: Any) -> str:
    # components.2.params → component 'lower' field 'params'
    if len(loc) >= 2 and loc[0] in ("components", "wires") and isinstance(loc[1], int):
        item = None
        if isinstance(source, Mapping):
            items = source.get(loc[0])
            if isinstance(items, list) and loc[1] < len(items):
                item = items[loc[1]]
        label = loc[0][:-1]
        name = item.get("id") if isinstance(item, Mapping) and item.get("id") else f"#{loc[1]}"
        rest = ".".join(str(p) for p in loc[2:])
        return f"{label} {name!r}" + (f" field {rest!r}" if rest else "")
    path = ".".join(str(p) for p in loc)
    return f"field {path!r}" if path else "graph"


def check_params(cls: type[Component], params: Mapping[str, Any]) -> list[str]:
    """Problems with ``params`` for class ``cls``, each naming the field."""
    try:
        cls.Params.model_validate(params)
    except ValidationError as exc:
        return describe_validation(exc, params)
    return []

