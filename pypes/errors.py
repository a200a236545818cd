"""The project's own error types. Untrusted input either parses or raises one of these;
the web layer maps each to a 4xx, the CLI to a message and a non-zero exit."""

from __future__ import annotations


class PypesError(Exception):
    """Base of every error a user can cause."""

    def __init__(self, message: str, detail: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class GraphError(PypesError):
    """A graph that cannot be used; ``problems`` lists each thing wrong."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems), self.problems)


class NotFound(PypesError):
    """No component, wire, sink or route by that name."""


class StaleRevision(PypesError):
    """The change was made against an older revision of the graph."""


class Overloaded(PypesError):
    """The entry queue is full; try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadInput(PypesError):
    """A request body that cannot be turned into documents."""


class TooLarge(BadInput):
    """A body, a decompressed body or a batch over the configured limit."""


class Unavailable(PypesError):
    """The server cannot accept work right now (for example the journal cannot be written)."""
