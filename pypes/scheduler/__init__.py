"""Greenlet tasklets, the scheduler pass, and the engine thread that drives them."""

from pypes.scheduler.core import Scheduler
from pypes.scheduler.runtime import Engine, Receipt

__all__ = ["Engine", "Receipt", "Scheduler"]
