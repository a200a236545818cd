"""The engine's input channel: limits and order, without an engine."""

from concurrent.futures import Future

import pytest

from pypes.errors import Overloaded
from pypes.scheduler.channel import Channel, Job


def job(packets: int = 0, size: int = 0) -> Job:
    return Job(Future(), lambda: None, packets, size)


def test_documents_count_against_the_limits_until_they_have_run() -> None:
    channel = Channel(queue_limit=10, queue_bytes=1000)
    first = job(8, 600)
    channel.put(first)
    with pytest.raises(Overloaded, match="8 of 10 documents"):
        channel.put(job(3, 10))
    with pytest.raises(Overloaded, match="600 of 1000 bytes"):
        channel.put(job(1, 500))
    channel.put(job(3, 10), check=False)  # a journal replay is let in regardless
    channel.put(job())  # a graph change always fits
    taken = channel.take(lambda: False)
    assert taken is first
    channel.ran(taken)
    assert (channel.queued, channel.queued_bytes) == (3, 10)
    channel.put(job(7, 100))


def test_documents_wait_while_the_entry_is_full_and_other_jobs_go_ahead() -> None:
    channel = Channel(queue_limit=100)
    docs, change = job(5), job()
    channel.put(docs)
    channel.put(change)
    assert channel.take(lambda: True) is change
    assert channel.take(lambda: True) is None
    assert channel.take(lambda: False) is docs
    channel.put(job(1))
    assert len(channel.close()) == 1 and channel.take(lambda: False) is None
