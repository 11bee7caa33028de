"""Keep credentials out of results, logs, alerts and the status API.

A credential can reach a result in many forms: as written, URL-encoded (a
target echoing its URL), base64-encoded (HTTP Basic auth sends
``base64(user:password)``), JSON-escaped (a target echoing a JSON body).
``secret_forms`` lists them all so that ``scrub`` can mask each; bytes a
target sent become at most a short printable excerpt (``excerpt``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

MASK = "***"
EXCERPT_CHARS = 80  # the most of a target's own bytes a reason may quote
MIN_SECRET_CHARS = 3  # shorter values are not masked: they would mask half of every text
_SENSITIVE_PARAMS = re.compile(r"(pass|secret|token|key|sig|auth|cred)", re.IGNORECASE)
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


@lru_cache(maxsize=4096)  # a check's URL is redacted on every run: once per container
def redact_url(url: str) -> str:
    """Drop user:password from a URL and mask query values that look like credentials."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, MASK if _SENSITIVE_PARAMS.search(k) else v) for k, v in pairs], safe="*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def secret_forms(secret: str) -> set[str]:
    """Every form in which ``secret`` may show up in text: plain, URL-encoded, base64, JSON.

    Base64 is given with and without its ``=`` padding, standard and URL-safe.
    A secret shorter than ``MIN_SECRET_CHARS`` gives none: masking it would
    mask pieces of every text.
    """
    if len(secret) < MIN_SECRET_CHARS:
        return set()
    raw = secret.encode("utf-8", "surrogatepass")
    b64 = base64.b64encode(raw).decode()
    b64url = base64.urlsafe_b64encode(raw).decode()
    forms = {
        secret,
        quote(secret, safe="", errors="surrogatepass"),
        quote(secret, errors="surrogatepass"),
        quote_plus(secret, errors="surrogatepass"),
        b64,
        b64.rstrip("="),
        b64url,
        b64url.rstrip("="),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(raw)[2:-1],  # as Python shows bytes: what a library error may quote
    }
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


def credential_forms(user: str, password: str) -> set[str]:
    """The forms of a user/password pair: the password's and ``user:password``'s (Basic auth)."""
    forms = secret_forms(password)
    if password:
        forms |= secret_forms(f"{user}:{password}")
    return forms


def authorization_forms(value: str) -> set[str]:
    """The forms of an ``Authorization``-style header value and of the credential inside it.

    ``Basic <b64>`` yields the base64, the decoded ``user:password`` and the
    password; ``Bearer <token>`` (or any ``<scheme> <credential>``) the token.
    """
    forms = secret_forms(value)
    scheme, _, credential = value.strip().partition(" ")
    credential = credential.strip()
    if not credential:
        return forms
    forms |= secret_forms(credential)
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return forms
        user, sep, password = decoded.partition(":")
        if sep:
            forms |= credential_forms(user, password)
        else:
            forms |= secret_forms(decoded)
    return forms


@lru_cache(maxsize=4096)  # once per URL and container, as redact_url
def url_credential_forms(url: str) -> frozenset[str]:
    """The forms of the credentials written in a URL: its user:password (as written and
    URL-decoded) and the values of query parameters named like credentials
    (``token``, ``api_key``, ``sig``, ...), which ``redact_url`` masks too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return frozenset()
    forms: set[str] = set()
    if parts.password is not None:
        user, password = unquote(parts.username or ""), unquote(parts.password)
        forms |= secret_forms(parts.password)
        forms |= credential_forms(user, password)
        forms |= credential_forms(parts.username or "", parts.password)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if _SENSITIVE_PARAMS.search(name):
            forms |= secret_forms(value)
            forms |= {f for f in secret_forms(quote(value, safe="")) if len(f) >= MIN_SECRET_CHARS}
    return frozenset(forms)


def header_forms(name: str, value: str) -> set[str]:
    """The forms of a request header's credential, or nothing for a header that holds none.

    ``Authorization``-style headers as ``authorization_forms``; ``Cookie``: the
    whole value and each cookie's value; any header whose name says it holds a
    credential (``X-Api-Key``, ``X-Auth-Token``, ...): its value.
    """
    lowered = name.lower()
    if lowered in ("authorization", "proxy-authorization"):
        return authorization_forms(value)
    if lowered == "cookie":
        forms = secret_forms(value)
        for pair in value.split(";"):
            forms |= secret_forms(pair.partition("=")[2].strip())
        return forms
    if is_credential_header(lowered):
        return secret_forms(value)
    return set()


def is_credential_header(name: str) -> bool:
    """Whether a header's name says it carries a credential: ``Authorization``,
    ``Proxy-Authorization``, ``Cookie``, or one named like ``X-Api-Key``, ``X-Auth-Token``."""
    lowered = name.lower()
    return lowered in ("authorization", "proxy-authorization", "cookie") or bool(
        _SENSITIVE_PARAMS.search(lowered)
    )


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (longest first) in ``text``."""
    for secret in sorted(
        {s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    return text


def printable(text: str, *, ascii_only: bool = True) -> str:
    """``text`` with every character outside printable ASCII replaced by ``?``.

    ``ascii_only=False`` keeps printable non-ASCII characters (accents, CJK) and
    replaces only control and format characters (including bidirectional
    overrides, which could make a line read as something else).
    """
    if ascii_only:
        return _UNPRINTABLE.sub("?", text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "?" for c in text)


def excerpt(text: str | bytes, secrets: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """A short, printable quote of what a target sent, with ``secrets`` masked first.

    Masking comes before cutting, so a credential cut in half cannot survive
    as a prefix. Longer text ends with ``...``.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", "replace")
    shown = printable(scrub(text, secrets))
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
