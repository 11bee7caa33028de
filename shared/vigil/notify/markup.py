"""Text from a target, shown literally in each chat client's markup.

A reason is what a target answered (an HTTP body excerpt, a DNS answer, a
database error): ``[click](https://evil.example)`` in it must not become a link
with a label chosen by whoever controls the target. Each chat channel escapes
the text it puts into markup with the function for that markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# CommonMark's backslash escapes for what forms links (``[text](url)``, ``<url>``,
# ``[text][ref]``), emphasis, strike-through and code, and the backslash itself.
_COMMONMARK_SPECIAL = re.compile(r"([\\`*_~\[\]<>])")
_MRKDWN = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def slack_mrkdwn(text: str) -> str:
    """Slack mrkdwn: only ``&``, ``<`` and ``>`` are control characters."""
    return "".join(_MRKDWN.get(char, char) for char in text)


def commonmark(text: str) -> str:
    """Markdown (an Adaptive Card ``TextBlock`` or ``Fact``): every character that
    could start a link, emphasis or code is backslash-escaped, so the text shows
    as written: ``\\[click\\](https://evil.example)``."""
    return _COMMONMARK_SPECIAL.sub(r"\\\1", text)


def client_markdown(text: str) -> str:
    """AWS Chatbot's ``client-markdown``, for a Slack or a Teams channel alike.

    ``&``, ``<`` and ``>`` become entities (Slack's ``<url|label>`` links; Markdown
    reads ``&lt;`` as ``<`` too) and the Markdown characters are backslash-escaped.
    """
    return slack_mrkdwn(_COMMONMARK_SPECIAL.sub(_escape_unless_angle, text))


def _escape_unless_angle(match: re.Match[str]) -> str:
    char = match.group(1)
    return char if char in "<>" else "\\" + char


def clip(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """``escape(text)`` cut to at most ``limit`` characters without splitting an escape
    (no lone ``\\`` or half an entity at the end); ``escape`` works per character."""
    pieces: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        size += len(piece)
        if size > limit:
            break
        pieces.append(piece)
    return "".join(pieces)
