"""The palette: component classes found through the ``pypes.components`` entry points.

An entry point names a Component subclass or a module; for a module, every public
Component subclass it exports is registered. Only registered classes can be instantiated
through the API — a class name is looked up here, never imported or evaluated.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator, Mapping
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from pypes.component import ERROR_PORT, Component

ENTRY_POINT_GROUP = "pypes.components"
log = logging.getLogger("pypes.registry")


class Registry(Mapping[str, type[Component]]):
    """Class name → component class."""

    def __init__(self, classes: Mapping[str, type[Component]] | None = None) -> None:
        self._classes: dict[str, type[Component]] = dict(classes or {})

    @classmethod
    def discover(cls) -> Registry:
        """Every class installed under the entry-point group; a broken plugin is logged."""
        registry = cls()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                registry.add(ep.load())
            except Exception as exc:  # noqa: BLE001 - one bad plugin must not stop the server
                log.warning("component plugin %r could not be loaded: %s", ep.name, exc)
        return registry

    def add(self, target: type[Component] | ModuleType) -> None:
        """Register a class, or every public Component subclass a module exports."""
        if isinstance(target, ModuleType):
            names = getattr(target, "__all__", [n for n in dir(target) if not n.startswith("_")])
            for name in names:
                obj = getattr(target, name)
                if inspect.isclass(obj) and issubclass(obj, Component) and obj is not Component:
                    self._classes[obj.__name__] = obj
        elif inspect.isclass(target) and issubclass(target, Component):
            self._classes[target.__name__] = target
        else:
            raise TypeError(f"{target!r} is not a Component class or a module")

    def __getitem__(self, name: str) -> type[Component]:
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    def describe(self, node_type: str | None = None) -> list[dict[str, Any]]:
        """The palette entries, optionally only those of one type (``Adapter`` …)."""
        return [
            describe_class(c)
            for c in sorted(self._classes.values(), key=lambda c: (c.type, c.__name__))
            if node_type is None or c.type.lower() == node_type.lower()
        ]


def describe_class(cls: type[Component]) -> dict[str, Any]:
    """What the palette and the API show of a class."""
    outputs = dict(cls.outputs)
    outputs.setdefault(ERROR_PORT, "documents this component failed on")
    return {
        "class": cls.__name__,
        "type": cls.type,
        "doc": inspect.cleandoc(cls.__doc__ or ""),
        "inputs": [{"name": n, "doc": d} for n, d in cls.inputs.items()],
        "outputs": [{"name": n, "doc": d} for n, d in outputs.items()],
        "params_schema": cls.Params.model_json_schema(),
    }
