"""The built-in components, registered through the ``pypes.components`` entry point."""

from pypes.components.adapters import JsonReader
from pypes.components.publishers import Collect

__all__ = ["Collect", "JsonReader"]
