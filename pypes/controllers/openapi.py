"""The API's own description: error bodies on every route, the graph schema under
``components``, and the registered classes as the allowed values of ``class``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from pypes.graph import Graph

GRAPH_REF = {"$ref": "#/components/schemas/Graph"}


class ErrorBody(BaseModel):
    """Every 4xx answer."""

    error: str
    detail: Any = None


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [
        (400, "the body or a parameter is malformed"),
        (401, "a bearer token is required"),
        (403, "the token lacks the scope"),
        (404, "no such component, wire, sink, worker or route"),
        (405, "the path does not take this method"),
        (409, "If-Match names an older revision"),
        (413, "over a size limit"),
        (422, "the request is well-formed but not acceptable (named in the message)"),
        (429, "the entry queue is full; see Retry-After"),
        (503, "the server cannot take work now; see Retry-After"),
    ]
}


def error_responses() -> dict[str, Any]:
    """``ERRORS`` as OpenAPI responses, for operations written by hand."""
    return {str(status): {"description": error["description"], "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
        for status, error in ERRORS.items()}


def install_openapi(app: FastAPI, classes: list[str],
                    paths: dict[str, Any] | None = None) -> None:
    """Replace ``app.openapi`` with one that adds what FastAPI cannot infer, and the
    ``paths`` of routes that are not FastAPI's."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary,
                                 routes=app.routes)
            schema["paths"] = {**(paths or {}), **schema.get("paths", {})}
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            graph = Graph.model_json_schema(by_alias=True,
                                            ref_template="#/components/schemas/{model}")
            schemas.update(graph.pop("$defs", {}))
            schemas["Graph"] = graph
            component = schemas.get("ComponentSpec", {}).get("properties", {}).get("class")
            new = schemas.get("NewComponent", {}).get("properties", {}).get("class")
            for field in (component, new):
                if field is not None:
                    field["enum"] = sorted(classes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
