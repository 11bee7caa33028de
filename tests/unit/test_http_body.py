"""The HTTP body as assertions read it: which charsets are decoded as declared, the text
decoded in slices with turns for the event loop, the body counted when nobody reads it,
and body patterns searched with a time limit."""

from __future__ import annotations

import asyncio
import codecs
import zlib

import pytest

from vigil.checks.http.body import FAST, BoundedBody, UndecodableBodyError, text, text_codec
from vigil.checks.http.check import _searched

MiB = 1 << 20


@pytest.mark.parametrize(
    ("charset", "codec"),
    [
        (None, "utf_8"),
        ("UTF-8", "utf_8"),
        ("utf8", "utf_8"),
        ("us-ascii", "ascii"),
        ("ISO-8859-1", "latin_1"),
        ("latin1", "latin_1"),
        ("iso-8859-15", "iso8859_15"),
        ("windows-1252", "cp1252"),
        ("windows-874", "cp874"),
        ("UTF-16LE", "utf_16_le"),
        ("utf-32", "utf_32"),
        ("koi8-r", "koi8_r"),
        ("macintosh", "mac_roman"),
        ("Shift_JIS", "shift_jis"),
        ("windows-31j", "cp932"),
        ("euc-jp", "euc_jp"),
        ("iso-2022-jp", "iso2022_jp"),
        ("gb18030", "gb18030"),
        ("big5", "big5"),
        ("ks_c_5601-1987", "euc_kr"),
        # slow or not text at all: read as UTF-8
        ("punycode", "utf_8"),
        ("utf-7", "utf_8"),
        ("idna", "utf_8"),
        ("unicode_escape", "utf_8"),
        ("raw_unicode_escape", "utf_8"),
        ("rot13", "utf_8"),
        ("zlib", "utf_8"),
        ("no-such-charset", "utf_8"),
        ("../../etc/passwd", "utf_8"),
        ("", "utf_8"),
    ],
)
def test_only_linear_charsets_are_decoded_as_declared(charset, codec):
    assert text_codec(charset) == codec


def test_every_fast_codec_exists():
    for codec in FAST:
        codecs.lookup(codec)


SAMPLES = [
    b"\x81" * 50_000,  # a byte the Windows code pages leave undefined, over and over
    bytes(range(256)) * 200,
    ("héllo wörld ✓ 漢字 " * 3000).encode(),
    codecs.BOM_UTF16_BE + "hé ✓".encode("utf-16-be") * 5000,
    codecs.BOM_UTF16_LE + "hé ✓".encode("utf-16-le") * 5000,
    codecs.BOM_UTF32_BE + "hé ✓".encode("utf-32-be") * 5000,
    "hé ✓".encode("utf-16-le") * 5000,  # no byte order mark
]


@pytest.mark.parametrize("codec", sorted(FAST))
def test_a_body_decoded_in_slices_reads_as_decoded_at_once(codec):
    """Multi-byte characters across slices, byte order marks, escapes (ISO-2022-JP):
    the slices add up to what ``bytes.decode`` gives."""
    for data in SAMPLES:
        assert asyncio.run(text(data, codec)) == data.decode(codec, errors="replace")


def test_a_long_decode_gives_the_event_loop_turns():
    """1 MiB of bytes cp1252 cannot decode runs its error handler a million times (about
    0.3 s here): other tasks run meanwhile."""
    data = b"\x81" * MiB
    turns = 0

    async def main() -> str:
        nonlocal turns
        ticker_running = True

        async def ticker() -> None:
            nonlocal turns
            while ticker_running:
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        turns = 0  # only the turns taken while decoding
        decoded = await text(data, "windows-1252")
        ticker_running = False
        await task
        return decoded

    assert asyncio.run(main()) == "\ufffd" * MiB
    assert turns > 1


def test_a_body_nobody_reads_is_counted_not_kept():
    body = BoundedBody(None, 100, keep=False)
    assert body.feed(b"x" * 60) is False
    assert body.feed(b"x" * 60) is True
    assert (body.size, body.truncated, body.data) == (101, True, b"")


def test_a_gzip_body_nobody_reads_is_bounded_by_its_decoded_size():
    compressor = zlib.compressobj(wbits=31)
    bomb = compressor.compress(bytes(10 * MiB)) + compressor.flush()
    body = BoundedBody("gzip", MiB, keep=False)
    assert body.feed(bomb) is True
    assert (body.size, body.truncated) == (MiB + 1, True)


def test_an_unknown_encoding_is_counted_as_sent_when_nobody_reads_it():
    body = BoundedBody("br", 100, keep=False)
    body.feed(b"\x1b\x03\x00")
    assert (body.size, body.truncated) == (3, False)
    with pytest.raises(UndecodableBodyError, match="cannot decode Content-Encoding 'br'"):
        BoundedBody("br", 100, keep=True)


def test_patterns_are_searched_in_order():
    searches = [("^ok", "ok then"), (r"v\d", "no version"), ("(?i)READY", "ready")]
    assert _searched(searches, 5) == [True, False, True]


def test_a_backtracking_search_stops_at_the_deadline():
    with pytest.raises(TimeoutError):
        _searched([("a.*x", "a" * 100_000)], 0.2)
