"""Decoding a response body's gzip or deflate in bounded pieces (for ``app.fetch.network``).

At most ``READ_SIZE`` bytes come out of one piece fed, however much it expands, so the
fetcher's size limit cuts a bomb short. deflate is taken zlib-wrapped, as the standard says,
or raw, as some servers send it; bytes after a whole gzip member are ignored, as browsers do.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from app.fetch.carriers import READ_SIZE, DecodeFailure


class Inflater:
    """gzip or deflate (zlib, or raw as some servers send it) decoded in bounded pieces."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        # deflate: the bytes fed until its first two tell whether it is zlib-wrapped (replayed
        # as raw deflate when they are not); None once known
        self._head: bytes | None = None if gzip else b""
        self._later = False  # past a whole gzip member: what does not decode is ignored
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS)

    def _decompress(self, data: bytes) -> bytes | None:
        """Output for ``data`` (at most a read); None when the rest is to be ignored."""
        try:
            out = self._inflate.decompress(data, READ_SIZE)
        except zlib.error as e:
            if self._later:  # bytes after a whole member, as browsers and urllib3 take them
                return None
            if self._head is None:
                raise DecodeFailure(f"a body that says it is compressed is not: {e}") from e
            data, self._head = self._head + data, None
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
            return self._decompress(data)
        if self._head is not None:
            self._head += data
            if len(self._head) >= 2:
                self._head = None  # a zlib header: wrapped
        return out

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            out = self._decompress(data)
            if out is None:
                return
            if out:
                yield out
            if self._inflate.eof:  # its unconsumed_tail may repeat unused_data: not fed again
                data = self._inflate.unused_data
                if not data or not self._gzip:
                    return  # (after a whole deflate stream: ignored)
                self._later = True  # a gzip body of more than one member
                self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = self._inflate.unconsumed_tail
                if not data and len(out) < READ_SIZE:
                    return  # all taken in, nothing held back
