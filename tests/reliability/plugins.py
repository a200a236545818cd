"""Test-only components, registered in a server process by ``serve.py`` (as a plugin
package would be) and in-process through ``registry()``."""

from __future__ import annotations

import time

from pydantic import Field

from pypes.component import Component, ComponentError, Params
from pypes.components.registry import Registry
from pypes.packet import Packet


class HoldParams(Params):
    seconds: float = Field(1.0, ge=0, description="how long each step blocks")


class Hold(Component):
    """Blocks the engine thread for ``seconds`` on every document: a tasklet that never
    yields, for stall detection and /health under a held pass."""

    Params = HoldParams

    def process(self, packet: Packet) -> Packet:
        time.sleep(self.params.seconds)
        return packet


class FailOdd(Component):
    """Fails on documents whose ``n`` is odd, unless ``data["fixed"]`` is set."""

    def process(self, packet: Packet) -> Packet:
        if packet.data.get("n", 0) % 2 and not packet.data.get("fixed"):
            raise ComponentError(f"odd number {packet.data['n']}")
        return packet


PLUGINS: list[type[Component]] = [Hold, FailOdd]


def with_plugins(reg: Registry) -> Registry:
    for cls in PLUGINS:
        reg.add(cls)
    return reg


def registry() -> Registry:
    """The installed components plus the test plugins."""
    return with_plugins(Registry.discover())
