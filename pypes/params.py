"""Parameter types shared by components, and secret parameters.

A params field typed ``SecretStr`` is secret: kept by the server, never shown by the API or
written to exports. The API shows ``has_<name>: true`` in its place; an update that leaves
it out keeps the value the server already has.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, SecretStr

from pypes.component import Component
from pypes.graph import Graph


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


RegexPattern = Annotated[str, AfterValidator(_compiles)]
"""A params field holding a regular expression, refused (422) when it does not compile."""


def secret_fields(cls: type[Component]) -> list[str]:
    return [name for name, f in cls.Params.model_fields.items()
            if f.annotation is SecretStr or f.annotation == SecretStr | None]


def public_params(cls: type[Component], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every secret replaced by a ``has_<name>`` flag."""
    secrets = secret_fields(cls)
    if not secrets:
        return params
    shown = {k: v for k, v in params.items() if k not in secrets}
    for name in secrets:
        shown[f"has_{name}"] = bool(params.get(name))
    return shown


def keep_secrets(cls: type[Component], old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` params, with the secrets it leaves out (or flags as ``has_``) taken from ``old``."""
    secrets = secret_fields(cls)
    if not secrets:
        return new
    merged = {k: v for k, v in new.items() if not (k.startswith("has_") and k[4:] in secrets)}
    for name in secrets:
        if name not in merged and name in old:
            merged[name] = old[name]
    return merged


def public_graph(graph: Graph, classes: Any) -> dict[str, Any]:
    """The graph as exported: secrets out, composite subgraphs included."""
    data = graph.dump()
    for comp in data["components"]:
        cls = classes.get(comp["class"])
        if cls is not None:
            comp["params"] = public_params(cls, comp["params"])
    return data


def carry_secrets(new: Graph, old: Graph, classes: Any) -> None:
    """Give components of an imported graph the secrets their namesakes already had."""
    for spec in new.components:
        before = old.component(spec.id)
        cls = classes.get(spec.class_)
        if before is not None and cls is not None and before.class_ == spec.class_:
            spec.params = keep_secrets(cls, before.params, spec.params)
