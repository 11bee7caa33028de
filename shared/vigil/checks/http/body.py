"""A response body read as the user sees it: Content-Encoding decoded, with a bound.

``BoundedBody`` takes the raw (still encoded) chunks and keeps at most
``limit`` decoded bytes (or, when nothing reads the body, only counts them).
gzip and deflate (zlib-wrapped or raw, as servers send both) are decoded
incrementally with ``max_length``, so a gzip bomb costs what ``limit`` allows
and no more: reading stops once ``limit + 1`` decoded bytes exist (the extra
byte tells that the body was longer).

``text`` turns the kept bytes into the text body assertions search. Only
charsets whose decoders run in linear time are decoded as declared (``FAST``);
any other charset is read as UTF-8 (Python's punycode decoder, say, is
quadratic: 200 KB of it took seconds). Even a linear decoder costs up to
0.3 us a byte on bytes it cannot decode (its error handler runs for each), so
a large body is decoded in slices, giving the event loop a turn between them
(``LoopTurns``): no step of a check holds the loop, and so every other
check's clock, for more than about a millisecond.
"""

from __future__ import annotations

import asyncio
import codecs
import time
import zlib
from encodings import aliases as _aliases
from encodings import normalize_encoding

DECODABLE = ("gzip", "x-gzip", "deflate", "identity")

# The charsets decoded as declared, by Python codec name: UTF-8/16/32, ASCII, the
# ISO-8859 and Windows code pages, the KOI8 and Mac Roman ones and the CJK encodings
# of the web (WHATWG's list, as far as Python has it). Each decodes a MiB in at most
# 0.3 s of error-handling bytes here; everything else (punycode, UTF-7, idna,
# unicode_escape, ...) is read as UTF-8.
FAST = frozenset(
    (
        "utf_8",
        "utf_8_sig",
        "ascii",
        "latin_1",
        *(f"iso8859_{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)),
        *(f"cp{n}" for n in range(1250, 1259)),
        "utf_16",
        "utf_16_le",
        "utf_16_be",
        "utf_32",
        "utf_32_le",
        "utf_32_be",
        "koi8_r",
        "koi8_u",
        "cp866",
        "cp874",
        "mac_roman",
        "shift_jis",
        "cp932",
        "euc_jp",
        "iso2022_jp",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "big5hkscs",
        "euc_kr",
        "cp949",
    )
)
_LABELS = {"windows_874": "cp874", "windows_31j": "cp932"}  # web labels Python lacks
_SLICE = 8 * 1024  # bytes decoded at a time: ~2 ms at worst (a code page's error path)
_TURN_S = 0.001  # hold the event loop at most this long between turns


class UndecodableBodyError(Exception):
    """The body's Content-Encoding is not one Vigil decodes, or its data is corrupt."""


class LoopTurns:
    """``if turns.due(): await asyncio.sleep(0)`` gives the event loop a turn once this
    task has run for a millisecond since the last one: a clock read per step instead
    of a loop iteration per step."""

    __slots__ = ("_since",)

    def __init__(self) -> None:
        self._since = time.perf_counter()

    def due(self) -> bool:
        now = time.perf_counter()
        if now - self._since < _TURN_S:
            return False
        self._since = now
        return True


class BoundedBody:
    """The decoded body, up to ``limit`` bytes; ``truncated`` if there was more.

    With ``keep=False`` (nobody reads it) the body is only counted (``size``),
    still decoded so that ``limit`` bounds the same decoded bytes, and a
    Content-Encoding Vigil does not decode is counted as sent instead of refused.
    """

    def __init__(self, content_encoding: str | None, limit: int, *, keep: bool = True) -> None:
        codings = []
        if content_encoding is not None:
            codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
            codings = [c for c in codings if c != "identity"]
        if codings and (len(codings) > 1 or codings[0] not in DECODABLE):
            if keep:
                raise UndecodableBodyError(
                    f"cannot decode Content-Encoding {content_encoding!r} (Vigil asks for and "
                    "decodes gzip or deflate)"
                )
            codings = []  # counted as sent
        self._coding = codings[0] if codings else None
        self._limit = limit
        self._keep = keep
        self._data = bytearray()
        self._decoder: zlib._Decompress | None = None  # type: ignore[name-defined]
        self._raw_deflate_tried = False
        self.size = 0  # decoded bytes read (at most limit + 1)
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
        room = self._limit + 1 - self.size
        decoded = chunk[:room] if self._decoder is None else self._decode(chunk, room)
        self.size += len(decoded)
        if self._keep:
            self._data += decoded
        if self.size > self._limit:
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
            if self._coding == "deflate" and not self._raw_deflate_tried and not self.size:
                # "deflate" is raw deflate on some servers (no zlib header)
                self._raw_deflate_tried = True
                self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                return self._decode(chunk, room)
            raise UndecodableBodyError(f"corrupt {self._coding} body: {exc}") from None


def text_codec(charset: str | None) -> str:
    """The codec to decode a body whose ``Content-Type`` declares ``charset``: the
    charset's own if it is in ``FAST``, else UTF-8. No codec module outside ``FAST``
    is ever looked up (a lookup imports it)."""
    if not charset:
        return "utf_8"
    name = normalize_encoding(charset.strip().lower())
    name = _LABELS.get(name) or _aliases.aliases.get(name, name)
    return name if name in FAST else "utf_8"


async def text(data: bytes, charset: str | None) -> str:
    """``data`` as text in ``text_codec(charset)``, undecodable bytes replaced (U+FFFD).

    A body over one slice is decoded slice by slice, the event loop getting a turn
    whenever a millisecond has passed (``LoopTurns``)."""
    codec = text_codec(charset)
    if len(data) <= _SLICE:
        return data.decode(codec, errors="replace")
    codec, skip = _byte_order(codec, data)
    decoder = codecs.getincrementaldecoder(codec)(errors="replace")
    view = memoryview(data)
    turns = LoopTurns()
    parts = []
    for start in range(skip, len(data), _SLICE):
        end = start + _SLICE
        parts.append(decoder.decode(view[start:end], final=end >= len(data)))
        if turns.due():
            await asyncio.sleep(0)
    return "".join(parts)


def _byte_order(codec: str, data: bytes) -> tuple[str, int]:
    """UTF-16/32 as ``bytes.decode`` reads them: in the order of the byte order mark,
    which is skipped (its offset returned), else little-endian. (Their incremental
    decoders refuse a stream without a mark instead.)"""
    if codec not in ("utf_16", "utf_32"):
        return codec, 0
    marks = {
        "utf_16": ((codecs.BOM_UTF16_LE, "le"), (codecs.BOM_UTF16_BE, "be")),
        "utf_32": ((codecs.BOM_UTF32_LE, "le"), (codecs.BOM_UTF32_BE, "be")),
    }[codec]
    for mark, order in marks:
        if data.startswith(mark):
            return f"{codec}_{order}", len(mark)
    return f"{codec}_le", 0
