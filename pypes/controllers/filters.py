"""``/filters``: the palette (classes) and the component instances on the canvas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from pypes.controllers.common import ADMIN, READ, JSONResponse, engine, if_match, result
from pypes.graph import ComponentId, ComponentSpec, Graph, Position
from pypes.params import keep_secrets, public_params
from pypes.scheduler import Engine

router = APIRouter(tags=["components"])


class NewComponent(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    class_: str = Field(alias="class", description="a class from GET /filters")
    id: ComponentId | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    position: Position | None = None


class ComponentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] | None = None
    position: Position | None = None


def instance(eng: Engine, spec: ComponentSpec) -> dict[str, Any]:
    """An instance as the API shows it: the graph entry plus its ports and live state."""
    cls = eng.registry.get(spec.class_)
    component = eng.components.get(spec.id)
    return {
        "id": spec.id,
        "class": spec.class_,
        "type": cls.type if cls else None,
        "params": public_params(cls, spec.params) if cls else spec.params,
        "position": list(spec.position),
        "inputs": list(cls.inputs) if cls else [],
        "outputs": cls.all_outputs() if cls else [],
        "state": component.state if component else None,
    }


@router.get("/filters", dependencies=[READ])
async def list_classes(request: Request, node: str | None = None) -> JSONResponse:
    """The palette: every class, or those of one type (Adapter, Transformer, …)."""
    return JSONResponse(engine(request).registry.describe(node))


@router.post("/filters", status_code=201, dependencies=[ADMIN])
async def create(body: NewComponent, request: Request) -> JSONResponse:
    """Create an instance of a registered class."""
    eng: Engine = engine(request)
    created: list[ComponentSpec] = []

    def edit(graph: Graph) -> None:
        created.append(graph.add_component(body.class_, body.id, body.params, body.position))

    await result(eng.change(edit, if_match(request)))
    return JSONResponse(instance(eng, created[0]), 201)


@router.get("/filters/{component_id}", dependencies=[READ])
async def read(component_id: str, request: Request) -> JSONResponse:
    eng: Engine = engine(request)
    return JSONResponse(instance(eng, eng.graph.require_component(component_id)))


@router.put("/filters/{component_id}", dependencies=[ADMIN])
async def update(component_id: str, body: ComponentUpdate, request: Request) -> JSONResponse:
    """Change an instance's params (validated by its class) or canvas position."""
    eng: Engine = engine(request)

    def edit(graph: Graph) -> None:
        spec = graph.require_component(component_id)
        params = body.params
        cls = eng.registry.get(spec.class_)
        if params is not None and cls is not None:
            params = keep_secrets(cls, spec.params, params)
        graph.update_component(component_id, params, body.position)

    graph = await result(eng.change(edit, if_match(request)))
    return JSONResponse(instance(eng, graph.require_component(component_id)))


@router.delete("/filters/{component_id}", status_code=204, dependencies=[ADMIN])
async def delete(component_id: str, request: Request) -> None:
    """Remove an instance and its wires (a composite stops its workers)."""
    await result(engine(request).change(lambda g: g.remove_component(component_id),
                                        if_match(request)))
