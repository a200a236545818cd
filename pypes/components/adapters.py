"""Adapters: turn what is posted to ``/docs`` into documents."""

from __future__ import annotations

from pydantic import Field

from pypes.component import Component, ComponentError, Params
from pypes.packet import Packet


class RouteParams(Params):
    route: str | None = Field(
        None, description="take only documents posted to /docs/{route}; empty: /docs"
    )


class JsonReader(Component):
    """Passes JSON documents on; parses raw JSON or NDJSON bodies into documents.

    A document posted as ``application/json`` arrives already parsed and goes straight
    through. A raw body (for example a file posted with another content type) is parsed as
    a JSON object, a JSON array (one document per element) or NDJSON (one per line).
    """

    type = "Adapter"
    inputs = {"in": "posted documents or raw JSON bodies"}
    outputs = {"out": "one packet per document"}
    Params = RouteParams

    def process(self, packet: Packet) -> Packet | list[Packet] | None:
        if packet.raw is None:
            return packet
        from pypes.ingest import parse_json_documents

        try:
            docs = parse_json_documents(packet.raw)
        except ValueError as exc:
            raise ComponentError(str(exc)) from None
        return [packet.derive(doc) for doc in docs]
