"""``/wires``: connections from an output port to an input port."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from pypes.controllers.common import ADMIN, READ, JSONResponse, engine, if_match, result
from pypes.graph import ComponentId, Graph, PortName, WireSpec

router = APIRouter(tags=["wires"])


class NewWire(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: tuple[ComponentId, PortName] = Field(alias="from",
                                                description="[component id, output port]")
    to: tuple[ComponentId, PortName] = Field(description="[component id, input port]")
    id: ComponentId | None = None


@router.get("/wires", dependencies=[READ])
async def list_wires(request: Request) -> JSONResponse:
    return JSONResponse([w.dump() for w in engine(request).graph.wires])


@router.post("/wires", status_code=201, dependencies=[ADMIN])
async def create(body: NewWire, request: Request) -> JSONResponse:
    """Connect two ports; a missing port or a cycle is refused with a message naming it."""
    created: list[WireSpec] = []

    def edit(graph: Graph) -> None:
        created.append(graph.add_wire(body.from_, body.to, body.id))

    await result(engine(request).change(edit, if_match(request)))
    return JSONResponse(created[0].dump(), 201)


@router.delete("/wires/{wire_id}", status_code=204, dependencies=[ADMIN])
async def delete(wire_id: str, request: Request) -> None:
    await result(engine(request).change(lambda g: g.remove_wire(wire_id), if_match(request)))
