"""The reference workload shared by the benchmarks: 1000-document batches of
``{"id", "text"}`` with 20 words; lower-case → word count → set a field."""

from __future__ import annotations

import random
from typing import Any

WORDS = ("Pypes Flows Documents Through Graphs Of Components Wired In A Browser "
         "Tasklets Yield Control Scheduler Passes Batches Gzip Cloud Workers Results").split()
BATCH = 1000

GRAPH: dict[str, Any] = {
    "pypes": 1,
    "name": "reference",
    "components": [
        {"id": "reader", "class": "JsonReader"},
        {"id": "lower", "class": "CaseNormalizer", "params": {"fields": ["text"], "case": "lower"}},
        {"id": "count", "class": "WordCount", "params": {"field": "text", "target": "words"}},
        {"id": "mark", "class": "SetField", "params": {"field": "stage", "value": "done"}},
        {"id": "out", "class": "Collect"},
    ],
    "wires": [
        {"from": ["reader", "out"], "to": ["lower", "in"]},
        {"from": ["lower", "out"], "to": ["count", "in"]},
        {"from": ["count", "out"], "to": ["mark", "in"]},
        {"from": ["mark", "out"], "to": ["out", "in"]},
    ],
}


def documents(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"id": i, "text": " ".join(rng.choice(WORDS) for _ in range(20))} for i in range(n)]


def by_hand(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same work written as plain Python functions, the baseline."""

    def lower(doc: dict[str, Any]) -> dict[str, Any]:
        doc["text"] = doc["text"].lower()
        return doc

    def count(doc: dict[str, Any]) -> dict[str, Any]:
        doc["words"] = len(doc["text"].split())
        return doc

    def mark(doc: dict[str, Any]) -> dict[str, Any]:
        doc["stage"] = "done"
        return doc

    return [mark(count(lower(doc))) for doc in docs]
