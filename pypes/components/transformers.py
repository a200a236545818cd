"""Transformers: change fields of each document in place.

Fields are top-level keys of the document. A document without the field a transformer
works on passes through unchanged.
"""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from pydantic import Field, JsonValue

from pypes.component import Component, ComponentError, Params
from pypes.packet import Packet


class CaseParams(Params):
    fields: list[str] = Field(..., min_length=1, description="the fields to change")
    case: Literal["lower", "upper"] = Field("lower", description="lower or upper case")


class CaseNormalizer(Component):
    """Lower- or upper-cases text fields (a list of strings too); other values are kept."""

    type = "Transformer"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with the fields re-cased"}
    Params = CaseParams
    params: CaseParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self._fields = tuple(self.params.fields)
        self._convert = str.lower if self.params.case == "lower" else str.upper

    def process_batch(self, packets: list[Packet]) -> list[Packet]:
        convert = self._convert
        for name in self._fields:
            for packet in packets:
                data = packet.data
                value = data.get(name)
                if value.__class__ is str:
                    data[name] = convert(value)
                elif value.__class__ is list:
                    data[name] = [convert(v) if v.__class__ is str else v for v in value]
        return packets


class SetFieldParams(Params):
    field: str = Field(..., min_length=1, description="the field to set")
    value: JsonValue = Field(..., description="the value, any JSON")


class SetField(Component):
    """Sets a field to a fixed value (any JSON), replacing what was there."""

    type = "Transformer"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with the field set"}
    Params = SetFieldParams
    params: SetFieldParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        value = self.params.value
        self._field = self.params.field
        self._value = value
        # Each document gets its own copy of a list or object, so changing one leaves the rest.
        self._mutable = isinstance(value, (list, dict))

    def process_batch(self, packets: list[Packet]) -> list[Packet]:
        field, value = self._field, self._value
        if self._mutable:
            for packet in packets:
                packet.data[field] = copy.deepcopy(value)
        else:
            for packet in packets:
                packet.data[field] = value
        return packets


class FieldPairParams(Params):
    source: str = Field(..., min_length=1, description="the field to read")
    target: str = Field(..., min_length=1, description="the field to write")


class CopyField(Component):
    """Copies a field's value to another field (a deep copy, so both can change apart)."""

    type = "Transformer"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with the field copied"}
    Params = FieldPairParams
    params: FieldPairParams

    def process(self, packet: Packet) -> Packet:
        data = packet.data
        source = self.params.source
        if source in data:
            value = data[source]
            data[self.params.target] = (
                copy.deepcopy(value) if isinstance(value, (list, dict)) else value
            )
        return packet


class RenameField(Component):
    """Renames a field, replacing any field that already has the new name."""

    type = "Transformer"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with the field renamed"}
    Params = FieldPairParams
    params: FieldPairParams

    def process(self, packet: Packet) -> Packet:
        data = packet.data
        source = self.params.source
        if source in data and source != self.params.target:
            data[self.params.target] = data.pop(source)
        return packet


class DeleteParams(Params):
    fields: list[str] = Field(..., min_length=1, description="the fields to remove")


class DeleteField(Component):
    """Removes fields from each document."""

    type = "Transformer"
    inputs = {"in": "documents"}
    outputs = {"out": "documents without the fields"}
    Params = DeleteParams
    params: DeleteParams

    def process(self, packet: Packet) -> Packet:
        pop = packet.data.pop
        for name in self.params.fields:
            pop(name, None)
        return packet


class DateParams(Params):
    field: str = Field(..., min_length=1, description="the field holding a date")
    target: str | None = Field(None, description="where to write the ISO date; empty: field")
    dayfirst: bool = Field(
        True, description="read 01/02/2010 as 1 February (day first) rather than 2 January"
    )


_DATE_FORMATS = (
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%d-%m-%Y",
    "%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y",
    "%a, %d %b %Y", "%A, %B %d, %Y", "%Y%m%d",
)
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%b %d, %Y %H:%M:%S", "%b %d, %Y %I:%M %p",
    "%d %b %Y %H:%M:%S", "%d %B %Y %H:%M",
)
_EPOCH = re.compile(r"^-?\d{9,11}(\.\d+)?$")


def parse_date(value: Any, dayfirst: bool = True) -> date:
    """A date or datetime from ISO 8601, RFC 2822, epoch seconds or a common format.

    Raises ValueError for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("not a string or number")
    if isinstance(value, (int, float)) or _EPOCH.match(value.strip()):
        return datetime.fromtimestamp(float(value), UTC)
    text = value.strip()
    for iso in (date.fromisoformat, datetime.fromisoformat, parsedate_to_datetime):
        try:
            return iso(text)
        except (TypeError, ValueError, IndexError):
            continue
    slashed = ("%d/%m/%Y", "%m/%d/%Y") if dayfirst else ("%m/%d/%Y", "%d/%m/%Y")
    for fmt in (*_DATE_FORMATS, *slashed):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    for fmt in (*_DATETIME_FORMATS, *(f"{s} %H:%M:%S" for s in slashed),
                *(f"{s} %H:%M" for s in slashed)):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError("not a date in a known format")


class DateNormalizer(Component):
    """Rewrites a date field as ISO 8601 (``2010-09-14`` or ``2010-09-14T10:00:00+00:00``).

    Reads ISO 8601, RFC 2822 (mail and RSS dates), epoch seconds and common forms such as
    ``14/09/2010`` or ``Sep 14, 2010``. A value it cannot read is an error for that
    document, which goes to the error port naming the value.
    """

    type = "Transformer"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with the date in ISO 8601"}
    Params = DateParams
    params: DateParams

    def process(self, packet: Packet) -> Packet:
        data = packet.data
        field = self.params.field
        value = data.get(field)
        if value is None:
            return packet
        try:
            parsed = parse_date(value, self.params.dayfirst)
        except (ValueError, OverflowError, OSError) as exc:
            raise ComponentError(
                f"field {field!r}: cannot read {value!r} as a date ({exc})"
            ) from None
        data[self.params.target or field] = parsed.isoformat()
        return packet
