import gzip
import importlib
import sys

import pytest

import pypes.compression as compression


def test_output_is_plain_gzip_and_inflates_with_a_cap():
    data = b'{"text": "pypes"}\n' * 10_000
    packed = compression.gzip_compress(data)
    assert gzip.decompress(packed) == data and len(packed) < len(data) // 10
    inflater = compression.gzip_inflater()
    first = inflater.decompress(gzip.compress(data), 100)
    assert len(first) == 100 and inflater.unconsumed_tail


def test_without_isal_zlib_does_the_same(monkeypatch):
    monkeypatch.setitem(sys.modules, "isal", None)  # as on a platform with no isal wheel
    fallback = importlib.reload(compression)
    try:
        assert fallback._zlib.__name__ == "zlib"
        assert gzip.decompress(fallback.gzip_compress(b"abc" * 100, 9)) == b"abc" * 100
        with pytest.raises(fallback.GzipError):
            fallback.gzip_inflater().decompress(b"not gzip")
    finally:
        monkeypatch.undo()
        importlib.reload(compression)
