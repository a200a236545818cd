"""Greenlet tasklets, the scheduler pass, and the engine thread that drives them."""

from pypes.scheduler.core import Scheduler
from pypes.scheduler.receipts import Receipt
from pypes.scheduler.runtime import Engine

__all__ = ["Engine", "Receipt", "Scheduler"]
