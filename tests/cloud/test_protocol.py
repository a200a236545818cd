"""The worker protocol's core without sockets: batching, acks, re-sends, dedup, wire format."""

from __future__ import annotations

import gzip

import orjson
import pytest

from pypes.cloud.protocol import (
    Batch,
    Ledger,
    ProtocolError,
    changes,
    decode_answer,
    delivered,
    encode_batch,
    error_message,
)
from pypes.packet import Packet


def docs(n: int, batch: str = "b1", start: int = 0) -> list[Packet]:
    return [Packet({"id": i}, None, None, batch) for i in range(start, start + n)]


def ids(batch: Batch) -> list[int]:
    return [p.data["id"] for p in batch.packets]


def test_a_full_batch_goes_at_once_and_the_rest_lingers() -> None:
    ledger = Ledger(batch_size=10, linger=0.05)
    ledger.add(docs(25), now=0.0)
    assert ledger.cut(now=0.0) == 2
    assert ledger.waiting == 25  # cut but not yet handed to a worker
    assert ledger.due() == pytest.approx(0.05)
    assert ledger.cut(now=0.01) == 0
    assert ledger.cut(now=0.06) == 1
    sizes = [len(b) for b in iter(lambda: ledger.next_for("w1"), None)]
    assert sizes == [10, 10, 5]
    assert ledger.waiting == 0 and ledger.in_flight("w1") == 25


def test_a_batch_never_mixes_two_ingest_batches() -> None:
    ledger = Ledger(batch_size=100, linger=10)
    ledger.add(docs(3, "b1") + docs(4, "b2", start=3), now=0.0)
    assert ledger.cut(now=0.0) == 1  # b1 is sealed by b2 behind it; b2 lingers
    first = ledger.next_for("w1")
    assert first is not None and ids(first) == [0, 1, 2] and first.ingest == "b1"
    assert ledger.next_for("w1") is None
    ledger.cut(now=0.0, flush=True)
    second = ledger.next_for("w1")
    assert second is not None and ids(second) == [3, 4, 5, 6] and second.ingest == "b2"


def test_an_answer_acknowledges_its_batch_once_and_a_second_is_a_duplicate() -> None:
    ledger = Ledger(batch_size=2, linger=0)
    ledger.add(docs(2), now=0.0)
    ledger.cut(now=0.0)
    batch = ledger.next_for("w1")
    assert batch is not None and ledger.unacknowledged("w1") == [batch.key]
    assert ledger.done(batch.key) is batch
    assert ledger.done(batch.key) is None
    assert len(ledger) == 0


def test_a_lost_workers_batches_are_sent_again_first_then_given_up() -> None:
    ledger = Ledger(batch_size=2, linger=0, max_attempts=2)
    ledger.add(docs(6), now=0.0)
    ledger.cut(now=0.0)
    a, b = ledger.next_for("w1"), ledger.next_for("w1")
    assert a is not None and b is not None
    assert ledger.lost("w1") == []
    assert ledger.in_flight() == 0 and ledger.waiting == 6
    again = ledger.next_for("w2")
    assert again is a and again.attempts == 2 and again.worker == "w2"
    assert ledger.next_for("w2") is b
    given_up = ledger.lost("w2")
    assert given_up == [a, b]  # each tried max_attempts times
    assert ledger.waiting == 2 and ledger.in_flight() == 0


def test_clear_returns_every_unanswered_document() -> None:
    ledger = Ledger(batch_size=2, linger=10)
    ledger.add(docs(5), now=0.0)
    ledger.cut(now=0.0)
    ledger.next_for("w1")
    assert sorted(p.data["id"] for p in ledger.clear()) == [0, 1, 2, 3, 4]
    assert len(ledger) == 0 and ledger.due() is None


def test_a_batch_is_a_gzipped_json_array_with_its_key() -> None:
    batch = Batch("k-1", [Packet({"text": "é", "n": [1, {"a": None}]}), Packet({"x": 1})], None)
    body, headers = encode_batch(batch)
    assert headers == {"Content-Type": "application/json", "Idempotency-Key": "k-1",
                       "Content-Encoding": "gzip"}
    assert orjson.loads(gzip.decompress(body)) == [p.data for p in batch.packets]
    plain, headers = encode_batch(batch, compress=False)
    assert "Content-Encoding" not in headers and plain == gzip.decompress(body)


def test_an_answer_parses_or_raises_protocol_error() -> None:
    answer = decode_answer(b'{"accepted": 2, "results": [{"a": 1}, [1, {}, []]], "errors": 1}',
                           posted=2)
    assert answer.results == [{"a": 1}, [1, {}, []]] and answer.errors == 1
    assert not answer.duplicate
    assert decode_answer(b'{"results": [], "duplicate": true}', posted=0).duplicate
    for bad in (b"nope", b"[]", b'{"results": 3}', b'{"results": [1]}',
                b'{"results": [[2, {}, []]]}', b'{"results": [[0, {}, []], [0, {}, []]]}',
                b'{"results": [[0, [], []]]}', b'{"results": [[0, {}, [1]]]}',
                b'{"results": [[true, {}, []]]}', b'{"results": [[0, {}]]}'):
        with pytest.raises(ProtocolError):
            decode_answer(bad, posted=2)


def test_changes_cross_the_wire_and_rebuild_the_results() -> None:
    """What the worker's graph made of the posted documents is what the master delivers,
    whether a document came back changed in place, whole, new, or twice."""
    sent = [{"id": i, "text": "Some Text", "tags": ["a"], "old": 1} for i in range(4)]
    batch = Batch("k-1", [Packet(dict(d, tags=list(d["tags"])), {"n": i}, None, "b1")
                          for i, d in enumerate(sent)], "b1")
    posted = orjson.loads(orjson.dumps(sent))  # the worker's own copies
    before = [dict(doc) for doc in posted]
    posted[0]["text"] = posted[0]["text"].lower()  # replaced
    posted[0]["words"] = 2  # added
    del posted[0]["old"]  # removed
    posted[1]["tags"].append("b")  # changed in place
    results = [posted[0], posted[1], {"id": 9, "new": True}, posted[1], posted[3]]
    expected = orjson.loads(orjson.dumps(results))
    answer = changes(posted, before, results)
    assert answer[0] == [0, {"text": "some text", "words": 2, "tags": ["a"]}, ["old"]]
    assert answer[2] == {"id": 9, "new": True} and answer[3] == posted[1]  # second time: whole
    assert answer[4] == [3, {"tags": ["a"]}, []]
    decoded = decode_answer(orjson.dumps({"results": answer}), posted=4)
    packets = delivered(batch, decoded.results)
    assert [p.data for p in packets] == expected
    assert packets[0] is batch.packets[0] and packets[0].meta == {"n": 0}
    assert packets[2].meta == {} and {p.batch for p in packets} == {"b1"}


def test_a_workers_error_reads_as_its_own_words() -> None:
    body = orjson.dumps({"error": "x", "detail": ["component 'a': unknown class 'B'"]})
    assert error_message(422, body) == "component 'a': unknown class 'B'"
    assert error_message(400, b'{"error": "bad", "detail": null}') == "bad"
    assert error_message(502, b"Bad Gateway") == "HTTP 502: Bad Gateway"
