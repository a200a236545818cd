"""Turning a posted body into packets: JSON, NDJSON or raw bytes, maybe gzip-compressed.

Every limit is checked here, on untrusted input, before the graph sees anything: body
size, decompressed size (counted while inflating, so a gzip bomb is stopped early),
documents per request and JSON nesting. Any bad input raises ``BadInput`` or
``TooLarge`` with a message naming what is wrong (the NDJSON line, the array element).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pypes.compression import GzipError, gzip_inflater
from pypes.errors import BadInput, TooLarge
from pypes.packet import Packet

JSON_TYPES = ("application/json", "text/json")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl",
                "application/json-seq", "application/jsonlines")


@dataclass(frozen=True)
class Limits:
    """How much one request may carry."""

    body_bytes: int = 64 * 1024 * 1024
    inflated_bytes: int = 256 * 1024 * 1024
    documents: int = 100_000
    depth: int = 64


def inflate(body: bytes, limit: int) -> bytes:
    """Decompress a gzip body, stopping as soon as it would exceed ``limit`` bytes."""
    inflater = gzip_inflater()
    try:
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise TooLarge(f"decompressed body is larger than the limit of {limit} bytes")
        out += inflater.flush()
    except GzipError as exc:
        raise BadInput(f"body is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise BadInput("body is not valid gzip: the compressed stream is truncated")
    if len(out) > limit:
        raise TooLarge(f"decompressed body is larger than the limit of {limit} bytes")
    return out


def parse_body(body: bytes, content_type: str, limits: Limits = Limits(),
               batch: str | None = None) -> list[Packet]:
    """The packets a body of this content type holds (without ``Content-Encoding``),
    each stamped with ``batch``."""
    mimetype = content_type.split(";", 1)[0].strip().lower()
    if mimetype in JSON_TYPES:
        docs = parse_json(body, limits)
    elif mimetype in NDJSON_TYPES:
        docs = parse_ndjson(body, limits)
    else:
        return [Packet(None, {"mimetype": mimetype or "application/octet-stream"}, body, batch)]
    return [Packet(doc, None, None, batch) for doc in docs]


def parse_json(body: bytes, limits: Limits = Limits()) -> list[dict[str, Any]]:
    """A JSON object (one document) or array of objects (one per element)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"body is not valid JSON: {_json_reason(exc)}") from None
    if isinstance(value, dict):
        docs = [value]
    elif isinstance(value, list):
        docs = value
    else:
        raise BadInput("a JSON body must be an object (one document) or an array of objects")
    _check_documents(docs, limits, "element", body, enclosed=docs is value)
    return docs


def parse_ndjson(body: bytes, limits: Limits = Limits()) -> list[dict[str, Any]]:
    """One JSON object per non-blank line."""
    docs = []
    loads = orjson.loads
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            docs.append(loads(line))
        except orjson.JSONDecodeError as exc:
            raise BadInput(f"line {number} is not valid JSON: {_json_reason(exc)}",
                           {"line": number}) from None
        if len(docs) > limits.documents:
            break
    _check_documents(docs, limits, "line", body)
    return docs


def parse_json_documents(raw: bytes, limits: Limits = Limits()) -> list[dict[str, Any]]:
    """Documents from a raw body that may be a JSON object, a JSON array or NDJSON."""
    head = raw.lstrip()[:1]
    if head == b"[":
        return parse_json(raw, limits)
    try:
        return parse_json(raw, limits)
    except BadInput:
        return parse_ndjson(raw, limits)


def _check_documents(docs: list[Any], limits: Limits, unit: str, body: bytes,
                     enclosed: bool = False) -> None:
    """Refuse too many documents, non-objects, and nesting deeper than the limit
    (``enclosed``: the documents came in one JSON array)."""
    if len(docs) > limits.documents:
        raise TooLarge(f"more than {limits.documents} documents in one request")
    if not set(map(type, docs)) <= {dict}:
        n = next(n for n, doc in enumerate(docs, 1) if not isinstance(doc, dict))
        raise BadInput(f"{unit} {n} is not a JSON object", {unit: n})
    if _flat(body, len(docs), enclosed):
        return
    for n, doc in enumerate(docs, 1):
        for value in doc.values():
            if isinstance(value, (dict, list)) and _depth(value, limits.depth - 1) < 0:
                raise BadInput(f"{unit} {n} is nested deeper than {limits.depth} levels",
                               {unit: n})


def _flat(body: bytes, documents: int, enclosed: bool) -> bool:
    """True when the body has no bracket but one "{" per document and the "[" of an
    enclosing array: nothing in it is nested. Brackets inside strings can only make this
    false, so it never skips a nested body. ``find`` runs at memchr speed, ``count`` does
    not: one count, at most two finds."""
    if body.count(b"{") > documents:
        return False
    first = body.find(b"[") if enclosed else -1
    return body.find(b"[", first + 1) < 0


def _depth(value: Any, budget: int) -> int:
    """``budget`` minus the nesting below ``value``; negative when over the limit."""
    if budget <= 0:
        return -1
    children = value.values() if isinstance(value, dict) else value
    lowest = budget
    for child in children:
        if isinstance(child, (dict, list)):
            lowest = min(lowest, _depth(child, budget - 1))
            if lowest < 0:
                return lowest
    return lowest


def _json_reason(exc: orjson.JSONDecodeError) -> str:
    return str(exc).split(": line", 1)[0] if "utf-8" not in str(exc).lower() else "not valid UTF-8"
