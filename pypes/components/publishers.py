"""Publishers: components that send documents out of the graph."""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections import deque
from pathlib import PurePosixPath
from typing import Any, ClassVar

import httpx
import orjson
from pydantic import Field, SecretStr, field_validator

from pypes.component import Component, ComponentError, Params, batches_of
from pypes.components.sink import ResultSink
from pypes.compression import gzip_compress
from pypes.packet import Packet


class CollectParams(Params):
    limit: int = Field(100_000, ge=1, description="documents held before the graph backs up")


class Collect(Component):
    """Holds the documents that reach it, for reading over HTTP.

    Read them with ``GET /sinks/{id}?after=<cursor>`` (long-poll with ``wait``) and
    acknowledge with ``DELETE /sinks/{id}?upto=<cursor>``. ``POST /docs?wait=true`` returns
    the documents of its batch in its answer instead (they are not kept here too). When
    full, the graph backs up rather than drop anything.
    """

    type = "Publisher"
    inputs = {"in": "documents to hold"}
    outputs = {}
    Params = CollectParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self.sink = ResultSink(self.params.limit)

    def reconfigure(self, params: Any) -> bool:
        self.sink.limit = params.limit
        return True

    def has_room(self) -> int:
        return self.sink.room()

    def drain(self, limit: int | None = None) -> int:
        inbox = self._inbox["in"]
        if limit is None or len(inbox) <= limit:
            packets = list(inbox)
            inbox.clear()
        else:
            packets = [inbox.popleft() for _ in range(limit)]
        self.sink.extend([p.data for p in self.context.on_result(packets)])
        self.counters.received += len(packets)
        return len(packets)

    def status(self) -> dict[str, Any]:
        return {"held": len(self.sink), "cursor": self.sink.cursor}


class PathParams(Params):
    path: str = Field(..., min_length=1,
                      description="file to append to, relative to the server's data directory")

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        parts = PurePosixPath(value.replace("\\", "/"))
        if parts.is_absolute() or ".." in parts.parts or ":" in value:
            raise ValueError("must be a relative path inside the data directory, without '..'")
        return value


class FileWriter(Component):
    """Base of the file publishers: each pass appends what arrived to the file, at once."""

    type = "Publisher"
    inputs = {"in": "documents to write"}
    outputs: ClassVar[dict[str, str]] = {}
    params: PathParams
    reads_only = True

    def drain(self, limit: int | None = None) -> int:
        inbox = self._inbox["in"]
        take = len(inbox) if limit is None else min(limit, len(inbox))
        if take <= 0:
            return 0
        packets = [inbox.popleft() for _ in range(take)]
        self.counters.received += take
        written = packets
        try:
            path = self.context.resolve_path(self.params.path)
            new = not path.exists() or path.stat().st_size == 0
            written, text = self.format(packets, new)
            if written:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("ab+") as file:
                    if not new:  # a line torn by a crash must not swallow the next one
                        file.seek(-1, os.SEEK_END)
                        if file.read(1) != b"\n":
                            text = b"\n" + text
                    file.write(text)
        except (OSError, ComponentError) as exc:
            for packet in written:
                self.fail(packet, exc)
            return take
        self.counters.sent += len(written)
        return take

    def format(self, packets: list[Packet], new: bool) -> tuple[list[Packet], bytes]:
        """The packets that could be written and the bytes to append for them; fail the rest."""
        raise NotImplementedError


class JsonLinesWriter(FileWriter):
    """Appends each document to a file as one line of JSON (NDJSON), flushed every pass.

    The path is relative to the server's data directory and cannot leave it.
    """

    Params = PathParams

    def format(self, packets: list[Packet], new: bool) -> tuple[list[Packet], bytes]:
        dumps = orjson.dumps
        try:
            lines = [dumps(p.data) for p in packets]
        except TypeError:
            lines, packets = self._one_by_one(packets)
        return packets, b"".join(line + b"\n" for line in lines)

    def _one_by_one(self, packets: list[Packet]) -> tuple[list[bytes], list[Packet]]:
        lines, good = [], []
        for packet in packets:
            try:
                lines.append(orjson.dumps(packet.data))
                good.append(packet)
            except TypeError as exc:
                self.fail(packet, ComponentError(f"document is not JSON: {exc}"))
        return lines, good


class CsvWriterParams(PathParams):
    fields: list[str] = Field(..., min_length=1, description="the columns, in order")
    delimiter: str = Field(",", min_length=1, max_length=1,
                           description="the character between values")
    escape_formulas: bool = Field(
        False, description="prefix values starting with = + - @ with ' so spreadsheets "
        "do not run them as formulas"
    )


class CsvWriter(FileWriter):
    """Appends each document to a CSV file as a row of the chosen fields.

    A new file starts with a header row. A missing field is an empty cell; lists and
    objects are written as JSON. The path is relative to the server's data directory.
    """

    Params = CsvWriterParams
    params: CsvWriterParams

    def format(self, packets: list[Packet], new: bool) -> tuple[list[Packet], bytes]:
        params = self.params
        out = io.StringIO()
        writer = csv.writer(out, delimiter=params.delimiter, lineterminator="\n")
        if new and packets:
            writer.writerow(params.fields)
        escape = params.escape_formulas
        for packet in packets:
            data = packet.data
            writer.writerow([_cell(data.get(name), escape) for name in params.fields])
        return packets, out.getvalue().encode()


def _cell(value: Any, escape: bool) -> str:
    if value is None:
        return ""
    if value.__class__ is str:
        return "'" + value if escape and value[:1] in ("=", "+", "-", "@") else value
    if value.__class__ is bool:
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return str(value)


class DebugParams(Params):
    max_chars: int = Field(1000, ge=10, description="longest log line; longer ones are cut")


debug_log = logging.getLogger("pypes.debug")


class Debug(Component):
    """Logs every document (at INFO, logger ``pypes.debug``), then forgets it."""

    type = "Publisher"
    inputs = {"in": "documents to log"}
    outputs: ClassVar[dict[str, str]] = {}
    Params = DebugParams
    params: DebugParams
    reads_only = True

    def process(self, packet: Packet) -> None:
        if debug_log.isEnabledFor(logging.INFO):
            text = orjson.dumps(packet.data, default=repr).decode()
            limit = self.params.max_chars
            if len(text) > limit:
                text = text[:limit] + "…"
            debug_log.info("%s: %s", self.id, text)
        return None


class Null(Component):
    """Drops everything it receives (the end of a flow whose results are not wanted)."""

    type = "Publisher"
    inputs = {"in": "documents to drop"}
    outputs: ClassVar[dict[str, str]] = {}
    reads_only = True

    def drain(self, limit: int | None = None) -> int:
        inbox = self._inbox["in"]
        take = len(inbox) if limit is None else min(limit, len(inbox))
        for _ in range(take):
            inbox.popleft()
        self.counters.received += take
        return take


_MANAGED_HEADERS = {"authorization", "content-length", "content-encoding", "transfer-encoding",
                    "host"}


class HttpParams(Params):
    url: str = Field(..., description="the http:// or https:// address to POST to")
    batch_size: int = Field(100, ge=1, le=10_000, description="documents per request")
    gzip: bool = Field(False, description="compress each request body with gzip")
    headers: dict[str, str] = Field(default_factory=dict,
                                    description="extra request headers (not Authorization)")
    token: SecretStr | None = Field(None, description="sent as 'Authorization: Bearer …'")
    timeout: float = Field(10.0, gt=0, le=300, description="seconds to wait for an answer")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL:
            raise ValueError("must be an http:// or https:// address") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("headers")
    @classmethod
    def _plain_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if name.lower() in _MANAGED_HEADERS:
                hint = "; use the token param" if name.lower() == "authorization" else ""
                raise ValueError(f"header {name!r} is set by the publisher{hint}")
            if not _HEADER_NAME.match(name) or "\r" in text or "\n" in text:
                raise ValueError(f"header {name!r} is not a valid HTTP header")
        return value


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


class HttpPublisher(Component):
    """POSTs documents to a URL as JSON arrays of up to ``batch_size`` documents.

    Requests run on the server's event loop, so the graph keeps moving while one is out.
    When a request fails (no answer, or a status other than 2xx) its documents go to the
    error port, or to the dead letters, with the reason. ``token`` is kept secret.
    """

    type = "Publisher"
    inputs = {"in": "documents to send"}
    outputs: ClassVar[dict[str, str]] = {}
    Params = HttpParams
    params: HttpParams

    def __init__(self, id: str = "", params: Any = None) -> None:
        super().__init__(id, params)
        self._waiting: deque[Packet] = deque()
        self._sending: list[Packet] = []
        self._client: httpx.AsyncClient | None = None
        self.posted = 0

    def held_batches(self) -> set[Any]:
        return batches_of([*self._waiting, *self._sending])

    def run(self) -> None:
        waiting = self._waiting
        while True:
            waiting.extend(self.receive_all("in"))
            size = self.params.batch_size
            while waiting:
                self._sending = [waiting.popleft() for _ in range(min(size, len(waiting)))]
                self._post(self._sending)
                self._sending = []
            self.yield_ctrl()

    def _post(self, batch: list[Packet]) -> None:
        params = self.params
        try:
            body = orjson.dumps([p.data for p in batch])
        except TypeError as exc:
            for packet in batch:
                self.fail(packet, ComponentError(f"document is not JSON: {exc}"))
            return
        headers = {"Content-Type": "application/json", **params.headers}
        if params.gzip:
            body = gzip_compress(body, 3)
            headers["Content-Encoding"] = "gzip"
        if params.token is not None:
            headers["Authorization"] = f"Bearer {params.token.get_secret_value()}"
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=params.timeout, follow_redirects=False)
        try:
            response = self.await_(self._client.post(params.url, content=body, headers=headers))
        except Exception as exc:  # noqa: BLE001 - any failure to send is the batch's error
            problem = f"POST {params.url} failed: {type(exc).__name__}: {exc}"
        else:
            if response.is_success:
                self.posted += len(batch)
                self.counters.sent += len(batch)
                return
            problem = f"POST {params.url} answered {response.status_code} {response.reason_phrase}"
        for packet in batch:
            self.fail(packet, problem)

    def status(self) -> dict[str, Any]:
        return {"posted": self.posted, "waiting": len(self._waiting)}

    async def close(self) -> None:
        unsent = [*self._sending, *self._waiting]
        self._sending, self._waiting = [], deque()
        for packet in unsent:
            self.fail(packet, "the component was removed before the document was sent")
        if self._client is not None:
            await self._client.aclose()
