"""A response body read as the user sees it: Content-Encoding decoded, with a bound.

``BoundedBody`` takes the raw (still encoded) chunks and keeps at most
``limit`` decoded bytes. gzip and deflate (zlib-wrapped or raw, as servers
send both) are decoded incrementally with ``max_length``, so a gzip bomb
costs what ``limit`` allows and no more: reading stops once ``limit + 1``
decoded bytes exist (the extra byte tells that the body was longer).
"""

from __future__ import annotations

import zlib

DECODABLE = ("gzip", "x-gzip", "deflate", "identity")


class UndecodableBodyError(Exception):
    """The body's Content-Encoding is not one Vigil decodes, or its data is corrupt."""


class BoundedBody:
    """The decoded body, up to ``limit`` bytes; ``truncated`` if there was more."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        unknown = [c for c in codings if c not in DECODABLE]
        if unknown or len(codings) > 1:
            raise UndecodableBodyError(
                f"cannot decode Content-Encoding {content_encoding!r} (Vigil asks for and "
                "decodes gzip or deflate)"
            )
        self._coding = codings[0] if codings else None
        self._limit = limit
        self._data = bytearray()
        self._decoder: zlib._Decompress | None = None  # type: ignore[name-defined]
        self._raw_deflate_tried = False
        self.raw_bytes = 0
        self.truncated = False
        self.done = False
        if self._coding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._coding == "deflate":
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS)

    @property
    def data(self) -> bytes:
        return bytes(self._data[: self._limit])

    def feed(self, chunk: bytes) -> bool:
        """Take one raw chunk; True once enough was read (the rest need not be)."""
        if self.done:
            return True
        self.raw_bytes += len(chunk)
        room = self._limit + 1 - len(self._data)
        if self._decoder is None:
            self._data += chunk[:room]
        else:
            self._data += self._decode(chunk, room)
        if len(self._data) > self._limit:
            self.truncated = True
            self.done = True
        elif self._decoder is not None and self._decoder.eof:
            self.done = True  # the compressed stream ended; anything after it is not body
        return self.done

    def _decode(self, chunk: bytes, room: int) -> bytes:
        assert self._decoder is not None
        try:
            return self._decoder.decompress(chunk, room)
        except zlib.error as exc:
            if self._coding == "deflate" and not self._raw_deflate_tried and not self._data:
                # "deflate" is raw deflate on some servers (no zlib header)
                self._raw_deflate_tried = True
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decode(chunk, room)
            raise UndecodableBodyError(f"corrupt {self._coding} body: {exc}") from None
