"""Adapters: turn what is posted to ``/docs`` into documents.

A body posted as JSON or NDJSON arrives already parsed (``raw`` is ``None``): every
Adapter passes such a document on unchanged. Any other body arrives raw, with its bytes
in ``packet.raw``, and each Adapter reads it in its own format.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any
from xml.parsers import expat

from pydantic import Field, field_validator

from pypes.component import Component, ComponentError, Params
from pypes.errors import PypesError
from pypes.ingest import parse_json_documents
from pypes.packet import Packet


class RouteParams(Params):
    route: str | None = Field(
        None, description="take only documents posted to /docs/{route}; empty: /docs"
    )


class TextParams(RouteParams):
    encoding: str = Field("utf-8", description="character encoding of the posted body")

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        return value


def decode(raw: bytes, encoding: str) -> str:
    """The body as text; a byte order mark wins over ``encoding``."""
    if raw.startswith(codecs.BOM_UTF8):
        raw, encoding = raw[3:], "utf-8"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ComponentError(
            f"body is not valid {encoding} (byte {exc.start}); set the encoding param"
        ) from None


class JsonReader(Component):
    """Passes JSON documents on; parses raw JSON or NDJSON bodies into documents.

    A document posted as ``application/json`` arrives already parsed and goes straight
    through. A raw body (for example a file posted with another content type) is parsed as
    a JSON object, a JSON array (one document per element) or NDJSON (one per line).
    """

    type = "Adapter"
    inputs = {"in": "posted documents or raw JSON bodies"}
    outputs = {"out": "one packet per document"}
    Params = RouteParams
    params: RouteParams

    def drain(self, limit: int | None = None) -> int:
        # The hot path: documents posted as JSON are already parsed; hand them on as a block.
        inbox = self._inbox["in"]
        if (limit is None or len(inbox) <= limit) and all(p.raw is None for p in inbox):
            packets = list(inbox)
            inbox.clear()
            self.counters.received += len(packets)
            self.emit("out", packets)
            return len(packets)
        return super().drain(limit)

    def process(self, packet: Packet) -> Packet | list[Packet] | None:
        if packet.raw is None:
            return packet
        try:
            docs = parse_json_documents(packet.raw)
        except PypesError as exc:
            raise ComponentError(exc.message) from None
        return [packet.derive(doc) for doc in docs]


class CsvParams(TextParams):
    delimiter: str = Field(",", min_length=1, max_length=1,
                           description="the character between values")
    header: bool = Field(True, description="the first row names the fields")
    fields: list[str] = Field(
        default_factory=list,
        description="field names when there is no header row; default col1, col2, …",
    )


class CsvReader(Component):
    """Reads a CSV body into one document per row, the header naming the fields.

    Values stay strings. A short row leaves its missing fields out; a row with more
    values than there are names fails on its own (to the error port) and the others
    go on. Already-parsed documents pass through unchanged.
    """

    type = "Adapter"
    inputs = {"in": "raw CSV bodies"}
    outputs = {"out": "one document per row"}
    Params = CsvParams
    params: CsvParams

    def process(self, packet: Packet) -> list[Packet] | Packet | None:
        if packet.raw is None:
            return packet
        params = self.params
        rows = csv.reader(io.StringIO(decode(packet.raw, params.encoding), newline=""),
                          delimiter=params.delimiter)
        names: list[str] | None = None if params.header else list(params.fields)
        out = []
        try:
            for row in rows:
                if not row:
                    continue
                if names is None:
                    names = [name.strip() for name in row]
                    continue
                if len(row) > len(names):
                    if params.header or params.fields:
                        self.fail(packet.derive({"line": rows.line_num, "row": row}),
                                  ComponentError(f"CSV line {rows.line_num} has {len(row)} "
                                                 f"values but {len(names)} field names"))
                        continue
                    names += [f"col{n}" for n in range(len(names) + 1, len(row) + 1)]
                out.append(packet.derive(dict(zip(names, row, strict=False))))
        except csv.Error as exc:
            raise ComponentError(f"CSV line {rows.line_num}: {exc}") from None
        return out


class TextReaderParams(TextParams):
    field: str = Field("text", min_length=1, description="the field that gets the text")
    split_lines: bool = Field(False, description="one document per non-blank line")


class TextReader(Component):
    """Reads a text body into a document ``{"text": …}``, or one per line.

    Already-parsed documents pass through unchanged.
    """

    type = "Adapter"
    inputs = {"in": "raw text bodies"}
    outputs = {"out": "one document per body (or per line)"}
    Params = TextReaderParams
    params: TextReaderParams

    def process(self, packet: Packet) -> list[Packet] | Packet | None:
        if packet.raw is None:
            return packet
        text = decode(packet.raw, self.params.encoding)
        field = self.params.field
        if not self.params.split_lines:
            return packet.derive({field: text})
        return [packet.derive({field: line}) for line in text.splitlines() if line.strip()]


class _HtmlText(HTMLParser):
    """Collects the title and the visible text of a page."""

    HIDDEN = frozenset(("script", "style", "noscript", "template"))
    BLOCKS = frozenset((
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th",
        "tr", "ul",
    ))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: list[str] = []
        self.text: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "title":
            self.in_title = True
        elif tag in self.BLOCKS:
            self.pre += tag == "pre"
            self.text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "title":
            self.in_title = False
        elif tag in self.BLOCKS:
            self.pre = max(0, self.pre - (tag == "pre"))
            self.text.append("\n")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if not self.pre:
            # A line break in the source is a space; only blocks (and <pre>) break lines.
            data = data.replace("\r", " ").replace("\n", " ")
        (self.title if self.in_title else self.text).append(data)


_SPACES = re.compile(r"[^\S\n]+")


class HtmlReader(Component):
    """Reads an HTML page into a document with its ``title`` and visible ``text``.

    Scripts and styles are left out; block elements (paragraphs, headings, list items)
    become line breaks and runs of spaces collapse. Already-parsed documents pass through.
    """

    type = "Adapter"
    inputs = {"in": "raw HTML bodies"}
    outputs = {"out": "one document per page"}
    Params = TextParams
    params: TextParams

    def process(self, packet: Packet) -> Packet | None:
        if packet.raw is None:
            return packet
        page = _HtmlText()
        page.feed(decode(packet.raw, self.params.encoding))
        page.close()
        lines = (_SPACES.sub(" ", line).strip() for line in "".join(page.text).split("\n"))
        return packet.derive({
            "title": " ".join("".join(page.title).split()),
            "text": "\n".join(line for line in lines if line),
        })


class XmlParams(RouteParams):
    path: str = Field(
        "./*",
        min_length=1,
        description="ElementTree path of the elements that become documents, relative to "
        "the root element: './item', './/entry' (namespace prefixes are ignored)",
    )

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        try:
            ET.Element("root").findall(_relative(value, "root"))
        except Exception:  # noqa: BLE001 - ElementPath raises TypeError, SyntaxError, KeyError
            raise ValueError(f"{value!r} is not a valid ElementTree path") from None
        return value


def _relative(path: str, root_tag: str) -> str:
    """``/rss/channel/item`` → ``./channel/item`` when the root is ``rss``."""
    if not path.startswith("/") or path.startswith("//"):
        return "." + path if path.startswith("//") else path
    first, _, rest = path[1:].partition("/")
    if first not in (root_tag, "*"):
        return "./__no_such_element__"
    return "./" + rest if rest else "."


class XmlReader(Component):
    """Reads an XML body into one document per element matching a path (RSS: ``.//item``).

    Each matching element's attributes and child elements become fields: a child with
    only text gives its text, one with attributes or children gives an object, and a
    repeated child gives a list. Namespace prefixes are dropped, so ``.//entry`` finds
    Atom entries. Documents with a DTD or entity declarations are refused (XXE, billion
    laughs). Already-parsed documents pass through unchanged.
    """

    type = "Adapter"
    inputs = {"in": "raw XML bodies"}
    outputs = {"out": "one document per matching element"}
    Params = XmlParams
    params: XmlParams

    def process(self, packet: Packet) -> list[Packet] | Packet | None:
        if packet.raw is None:
            return packet
        root = parse_xml(packet.raw)
        matches = root.findall(_relative(self.params.path, root.tag))
        return [packet.derive(element_document(element)) for element in matches]


_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_xml(raw: bytes) -> ET.Element:
    """Parse untrusted XML into elements; a DTD or entity declaration is refused."""
    if _DTD.search(raw):
        raise ComponentError("XML with a DTD or entity declarations (<!DOCTYPE, <!ENTITY) "
                             "is refused: it could expand entities or read local files")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: Any) -> None:
        # The byte check above misses a DTD in a non-ASCII encoding; expat does not.
        raise ComponentError("XML with a DTD or entity declarations is refused")

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = lambda tag, attrs: builder.start(_local(tag), {
        _local(k): v for k, v in attrs.items() if k != "xmlns" and not k.startswith("xmlns:")
    })
    parser.EndElementHandler = lambda tag: builder.end(_local(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise ComponentError(f"body is not well-formed XML: {exc}") from None
    root = builder.close()
    if root is None:
        raise ComponentError("body is not well-formed XML: no root element")
    return root


def _local(name: str) -> str:
    return name.rpartition(":")[2]


MAX_DEPTH = 64  # as for posted JSON: deeper documents are refused, not half-read


def element_document(element: ET.Element, depth: int = MAX_DEPTH) -> dict[str, Any]:
    """An element as a document: its attributes, its own text, then its children."""
    if depth <= 0:
        raise ComponentError(f"XML element <{element.tag}> is nested deeper than "
                             f"{MAX_DEPTH} levels below a matching element")
    doc: dict[str, Any] = dict(element.attrib)
    text = (element.text or "").strip()
    if text:
        doc["text"] = text
    children: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in element:
        tag, value = child.tag, _value(child, depth - 1)
        if tag not in children:
            children[tag] = value
        elif tag in repeated:
            children[tag].append(value)
        else:
            children[tag] = [children[tag], value]
            repeated.add(tag)
    doc.update(children)
    return doc


def _value(element: ET.Element, depth: int) -> Any:
    if not len(element) and not element.attrib:
        return (element.text or "").strip()
    return element_document(element, depth)
