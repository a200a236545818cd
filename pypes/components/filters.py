"""Filters: keep some documents and drop (or route aside) the rest.

Each filter sends what it keeps to ``out`` and what it filters out to ``dropped``, which
is simply left unwired when those documents are not wanted.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, JsonValue

from pypes.component import Component, Params
from pypes.packet import Packet
from pypes.params import RegexPattern

_MISSING = object()


class DropParams(Params):
    field: str = Field(..., min_length=1, description="the field to compare")
    equals: JsonValue = Field(..., description="drop documents whose field has this value")


class DropDocument(Component):
    """Drops documents whose field equals a value; a document without the field is kept."""

    type = "Filter"
    inputs = {"in": "documents"}
    outputs = {"out": "documents kept", "dropped": "documents whose field equals the value"}
    Params = DropParams
    params: DropParams

    def process(self, packet: Packet) -> Packet | None:
        value = packet.data.get(self.params.field, _MISSING)
        equals = self.params.equals
        # JSON true is not 1, though Python says True == 1.
        if value != equals or (value.__class__ is bool) is not (equals.__class__ is bool):
            return packet
        if self._routes["dropped"]:
            self.send("dropped", packet)
        return None


class MatchParams(Params):
    field: str = Field(..., min_length=1, description="the field to test")
    pattern: RegexPattern = Field(..., description="a regular expression searched for in the field")
    ignore_case: bool = Field(False, description="match letters in either case")
    invert: bool = Field(False, description="keep the documents that do not match instead")



class Match(Component):
    """Keeps documents whose field matches a regular expression (or, inverted, does not).

    The pattern may match anywhere in the value (anchor it with ``^…$`` to match it
    whole). A list matches when any of its strings does; numbers are matched as text;
    a missing field never matches.
    """

    type = "Filter"
    inputs = {"in": "documents"}
    outputs = {"out": "documents kept", "dropped": "documents filtered out"}
    Params = MatchParams
    params: MatchParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        flags = re.IGNORECASE if self.params.ignore_case else 0
        self._search = re.compile(self.params.pattern, flags).search

    def process(self, packet: Packet) -> Packet | None:
        value = packet.data.get(self.params.field)
        if value.__class__ is str:
            found = self._search(value) is not None
        elif isinstance(value, list):
            found = any(v.__class__ is str and self._search(v) for v in value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found = self._search(str(value)) is not None
        else:
            found = False
        if found is not self.params.invert:
            return packet
        if self._routes["dropped"]:
            self.send("dropped", packet)
        return None
