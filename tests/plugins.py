"""Small components for engine tests, registered in a private Registry (as a plugin would)."""

from __future__ import annotations

import asyncio
from collections import Counter

from pypes.component import Component, ComponentError, Params
from pypes.components.adapters import JsonReader
from pypes.components.publishers import Collect
from pypes.components.registry import Registry
from pypes.packet import Packet


class Upper(Component):
    """Upper-cases the ``text`` field."""

    def process(self, packet: Packet) -> Packet:
        packet.data["text"] = packet.data["text"].upper()
        return packet


class FailOn(Component):
    """Fails on documents whose ``n`` is odd."""

    def process(self, packet: Packet) -> Packet:
        if packet.data["n"] % 2:
            raise ComponentError(f"odd number {packet.data['n']}")
        return packet


class PairUp(Component):
    """A 2010-style tasklet: holds documents until it has two, then sends the pair."""

    type = "Operator"

    def run(self) -> None:
        held: list[Packet] = []
        while True:
            for packet in self.receive_all("in"):
                held.append(packet)
                if len(held) == 2:
                    self.send("out", Packet({"pair": [p.data for p in held]}))
                    held = []
            self.yield_ctrl()


class Sleepy(Component):
    """A tasklet that awaits an asyncio sleep for every pass that has input."""

    type = "Operator"

    def run(self) -> None:
        while True:
            packets = list(self.receive_all("in"))
            if packets:
                self.await_(asyncio.sleep(0.01))
                for p in packets:
                    p.data["slept"] = True
                    self.send("out", p)
            self.yield_ctrl()


class Crashy(Component):
    """A tasklet whose run() raises on a document with ``crash``."""

    def run(self) -> None:
        while True:
            for packet in self.receive_all("in"):
                if packet.data.get("crash"):
                    raise RuntimeError("boom")
                self.send("out", packet)
            self.yield_ctrl()


class Mark(Component):
    """Sets ``field`` to ``value``."""

    class Params(Params):
        field: str = "mark"
        value: int = 1

    def process(self, packet: Packet) -> Packet:
        packet.data[self.params.field] = self.params.value
        return packet


class Lengths(Component):
    """Counts the words of ``text`` by length: a dict with integer keys, as Python makes."""

    def process(self, packet: Packet) -> Packet:
        packet.data["lengths"] = dict(Counter(map(len, packet.data["text"].split())))
        return packet


def registry() -> Registry:
    reg = Registry()
    for cls in (JsonReader, Collect, Upper, FailOn, PairUp, Sleepy, Crashy, Mark, Lengths):
        reg.add(cls)
    return reg


def chain(*classes: str, **params: dict) -> dict:
    """A graph JsonReader → classes… → Collect, components named c0, c1, …"""
    names = ["reader"] + [f"c{i}" for i in range(len(classes))] + ["out"]
    kinds = ["JsonReader", *classes, "Collect"]
    return {
        "pypes": 1,
        "name": "chain",
        "components": [{"id": n, "class": k, "params": params.get(n, {})}
                       for n, k in zip(names, kinds, strict=True)],
        "wires": [{"from": [a, "out"], "to": [b, "in"]}
                  for a, b in zip(names, names[1:], strict=False)],
    }
