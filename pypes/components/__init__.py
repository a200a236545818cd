"""The built-in components, registered through the ``pypes.components`` entry point."""

from pypes.components.adapters import CsvReader, HtmlReader, JsonReader, TextReader, XmlReader
from pypes.components.composite import Composite
from pypes.components.extractors import EmailExtractor, RegexExtractor, WordCount
from pypes.components.filters import DropDocument, Match
from pypes.components.operators import Collate, Delay, Merge, Split
from pypes.components.publishers import (
    Collect,
    CsvWriter,
    Debug,
    HttpPublisher,
    JsonLinesWriter,
    Null,
)
from pypes.components.transformers import (
    CaseNormalizer,
    CopyField,
    DateNormalizer,
    DeleteField,
    RenameField,
    SetField,
)

__all__ = [
    "CaseNormalizer",
    "Collate",
    "Collect",
    "Composite",
    "CopyField",
    "CsvReader",
    "CsvWriter",
    "DateNormalizer",
    "Debug",
    "DeleteField",
    "Delay",
    "DropDocument",
    "EmailExtractor",
    "HtmlReader",
    "HttpPublisher",
    "JsonLinesWriter",
    "JsonReader",
    "Match",
    "Merge",
    "Null",
    "RegexExtractor",
    "RenameField",
    "SetField",
    "Split",
    "TextReader",
    "WordCount",
    "XmlReader",
]
