"""Pypes: a visual dataflow server for document pipelines, with cloud-spawned workers."""

from pypes.component import Component, ComponentError, Params
from pypes.graph import Graph
from pypes.packet import Packet

__all__ = ["Component", "ComponentError", "Graph", "Packet", "Params"]
__version__ = "0.1.0"
