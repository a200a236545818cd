"""gzip for request bodies and worker batches.

ISA-L (the ``isal`` package) when it is installed: the same gzip format, about 3.5x faster
to compress and 2.7x faster to inflate than zlib on this project's documents (measured in
docs/performance.md), which is most of a composite master's own CPU. zlib otherwise.
"""

from __future__ import annotations

from typing import Any

try:
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - a platform without isal wheels
    import zlib as _zlib  # type: ignore[no-redef]

GZIP_WBITS = 16 + _zlib.MAX_WBITS
GzipError: type[Exception] = _zlib.error  # type: ignore[assignment]


def gzip_compress(data: bytes, level: int = 1) -> bytes:
    """``data`` as one gzip member; ``level`` 1 (fastest) to 3 means the same in both
    libraries, higher levels exist only in zlib and are clamped."""
    packer = _zlib.compressobj(min(max(level, 0), 3), _zlib.DEFLATED, GZIP_WBITS)
    return packer.compress(data) + packer.flush()  # type: ignore[no-any-return]


def gzip_inflater() -> Any:
    """A decompress object for one gzip stream (``decompress(data, max_length)``,
    ``unconsumed_tail``, ``flush()``, ``eof``, as zlib's)."""
    return _zlib.decompressobj(GZIP_WBITS)
