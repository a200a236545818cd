"""Extractors: pull something out of a text field into a field of its own.

A missing or non-text source field gives an empty result (an empty list, ``None`` or 0),
so every document leaving an extractor has the target field.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from pypes.component import Component, Params
from pypes.packet import Packet
from pypes.params import RegexPattern

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


class EmailParams(Params):
    field: str = Field("text", min_length=1, description="the text field to search")
    target: str = Field("emails", min_length=1, description="the field that gets the list")


class EmailExtractor(Component):
    """Finds e-mail addresses in a text field and lists them, each once, in order found."""

    type = "Extractor"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with the addresses listed"}
    Params = EmailParams
    params: EmailParams

    def process(self, packet: Packet) -> Packet:
        data = packet.data
        value = data.get(self.params.field)
        found = EMAIL.findall(value) if value.__class__ is str else []
        data[self.params.target] = list(dict.fromkeys(found))
        return packet


class RegexParams(Params):
    field: str = Field(..., min_length=1, description="the text field to search")
    pattern: RegexPattern = Field(..., description="the regular expression to find")
    target: str = Field(..., min_length=1, description="the field that gets what is found")
    group: int | str = Field(
        0, description="the group to take: a number or a name; 0 is the whole match"
    )
    all: bool = Field(True, description="a list of every match; off: the first match or null")
    ignore_case: bool = Field(False, description="match letters in either case")


    @model_validator(mode="after")
    def _group_exists(self) -> RegexParams:
        compiled = re.compile(self.pattern)
        group = self.group
        if isinstance(group, int) and not 0 <= group <= compiled.groups:
            raise ValueError(f"group {group} is not in the pattern "
                             f"(it has {compiled.groups} groups)")
        if isinstance(group, str) and group not in compiled.groupindex:
            raise ValueError(f"group {group!r} is not a named group of the pattern")
        return self


class RegexExtractor(Component):
    """Finds a regular expression in a text field and stores the matches (or one group)."""

    type = "Extractor"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with what was found"}
    Params = RegexParams
    params: RegexParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        flags = re.IGNORECASE if self.params.ignore_case else 0
        self._regex = re.compile(self.params.pattern, flags)

    def process(self, packet: Packet) -> Packet:
        data = packet.data
        params = self.params
        value = data.get(params.field)
        group = params.group
        if params.all:
            found: Any = (
                [m.group(group) for m in self._regex.finditer(value)]
                if value.__class__ is str else []
            )
        else:
            match = self._regex.search(value) if value.__class__ is str else None
            found = match.group(group) if match else None
        data[params.target] = found
        return packet


class WordCountParams(Params):
    field: str = Field("text", min_length=1, description="the text field to count")
    target: str = Field("words", min_length=1, description="the field that gets the count")


class WordCount(Component):
    """Counts the whitespace-separated words of a text field."""

    type = "Extractor"
    inputs = {"in": "documents"}
    outputs = {"out": "documents with the word count"}
    Params = WordCountParams
    params: WordCountParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self._field = self.params.field
        self._target = self.params.target

    def process_batch(self, packets: list[Packet]) -> list[Packet]:
        field, target = self._field, self._target
        for packet in packets:
            data = packet.data
            value = data.get(field)
            data[target] = len(value.split()) if value.__class__ is str else 0
        return packets
