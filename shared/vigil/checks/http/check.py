"""HTTP(S) checks, measured as the user's wait.

Latency (``latency_ms``) runs from the start of the request - resolving the
host name, the TCP connect and the TLS handshake of the new connection
included - to the arrival of the final response head (a redirect's whole
time included: the user waits for it too). ``details.timings_ms`` splits it:
``dns``, ``connect``, ``tls``, ``ttfb`` (request sent -> response head); then
``transfer`` (head -> body read; 0 after ``HEAD``, 204 or 304). Each phase
is summed over the hops of a redirect chain. The name is resolved by Vigil
itself (``network.open_connection``) so that resolution is timed and
``ip_version`` is honoured without falling back to the other family; its
addresses are raced (Happy Eyeballs); TLS still uses the URL's host name (SNI,
certificate check, ``Host`` header). Proxy variables are ignored (one warning
per container says so).

``timeout`` bounds the whole exchange, the body included: one deadline
around connect, request, head, body and judging, so a body that stalls or
trickles cannot outlive it.

The body is always read, as a browser would, decoded from gzip or deflate
incrementally, and never beyond ``max_body_bytes`` decoded bytes
(``body.BoundedBody``; then the connection is closed): a longer body is judged
on what was read and marked ``details.body_truncated``. It is kept only when an
assertion reads it (``body_contains``, ``body_not_contains``, ``body_matches``,
``json``); otherwise it is only counted.

The target chooses the body, so no step of judging it may hold the event loop
(and with it every other check's clock) for more than a few milliseconds: the
text is decoded in slices with only linear-time charsets (``body.text``);
``body_matches`` and ``headers_match`` are searched in a thread by ``regex``,
which releases the interpreter lock and stops at the deadline; a JSON body over
16 KiB is parsed and searched in a thread, in Python.

Each check makes one exchange (``exchange.Exchange``: h11 on asyncio streams,
URLs by httpx) on a connection of its own (a redirect to the same origin
reuses it); TLS contexts are shared (``CheckResources.ssl_context``) except a
check's own client certificate context, kept warm per certificate.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import json.scanner
import logging
import os
import ssl
import tempfile
import time
from collections.abc import Callable
from typing import Any

import httpx

from vigil.checks.base import Check, Probe
from vigil.checks.expect import failure as expectation_failure
from vigil.checks.http.body import BoundedBody, UndecodableBodyError
from vigil.checks.http.body import text as body_text
from vigil.checks.http.config import HttpCheckConfig, SecretValue
from vigil.checks.http.exchange import Exchange, InvalidResponse, Response, TooManyRedirects
from vigil.checks.http.network import (
    ConnectFailed,
    PhaseClock,
    TransferFailed,
    proxy_variables,
)
from vigil.checks.tls import certificate_expiry, expiry_finding
from vigil.exceptions import CheckSetupError
from vigil.redact import is_credential_header

logger = logging.getLogger(__name__)

ACCEPT_ENCODING = "gzip, deflate"  # what BoundedBody decodes
# A JSON body up to this size is parsed (C parser) and searched (jmespath) on the event
# loop, ~3 ms at worst here; a larger one in Python, in a thread (``_PythonJSONDecoder``).
_INLINE_JSON_BYTES = 16 * 1024
# Warm-start cache: SSL contexts holding a client certificate, by (CA file, certificate
# digest). Loading certifi's bundle costs ~20 ms of CPU; the key never leaves memory.
_CLIENT_CERT_CONTEXTS: dict[tuple[str | None, str], ssl.SSLContext] = {}


@functools.cache  # once per container: the environment is the function's
def warn_if_proxies_set() -> None:
    """Log once that proxy variables set in the environment are ignored (their names
    only: a proxy URL may carry a password)."""
    names = proxy_variables(os.environ)
    if names:
        logger.warning(
            "HTTP checks connect directly, without a proxy: %s ignored", ", ".join(names)
        )


class HttpCheck(Check):
    config: HttpCheckConfig

    def __init__(self, config: HttpCheckConfig, resources) -> None:
        super().__init__(config, resources)
        warn_if_proxies_set()
        self.remember_url(config.url)  # its user:password is sent as Basic auth
        for key, value in config.headers.items():
            if isinstance(value, str):
                self.remember_header(key, value)

    async def probe(self) -> Probe:
        cfg = self.config
        headers = await self._request_headers()
        context = await self._ssl_context()
        clock = PhaseClock()
        fallback_start = time.perf_counter()
        details: dict[str, Any] = {}
        try:
            async with asyncio.timeout(cfg.timeout) as scope:
                exchange = Exchange(
                    cfg.method,
                    cfg.url,
                    headers,
                    cfg.body.encode() if cfg.body is not None else None,
                    context=context,
                    clock=clock,
                    ip_version=cfg.ip_version,
                    max_redirects=cfg.redirect_limit,
                    private=self._private_headers(),
                )
                async with exchange as response:
                    return await self._judge(response, clock, fallback_start, details, scope)
        except TimeoutError:
            reason = f"timed out after {cfg.timeout:g}s {clock.phase}"
        except (TooManyRedirects, ConnectFailed) as exc:
            reason = str(exc)
        except InvalidResponse as exc:
            reason = f"invalid HTTP response: {self.excerpt(str(exc))}"
        except TransferFailed as exc:
            reason = f"request failed {clock.phase}: {self.excerpt(str(exc))}"
        return self._failed(reason, clock, fallback_start, details)

    # ------------------------------------------------------------------ judging

    async def _judge(
        self,
        response: Response,
        clock: PhaseClock,
        fallback_start: float,
        details: dict[str, Any],
        scope: asyncio.Timeout,
    ) -> Probe:
        cfg = self.config
        started = clock.started if clock.started is not None else fallback_start
        head = clock.head if clock.head is not None else time.perf_counter()
        latency_ms = max(0.0, (head - started) * 1000)
        details["status_code"] = response.status_code
        details["redirects"] = response.redirects
        details["timings_ms"] = timings = _timings(clock)
        body: BoundedBody | None = None
        undecodable = None
        if response.has_body:
            read_started = time.perf_counter()
            try:
                body = await self._read_body(response)
            except UndecodableBodyError as exc:
                undecodable = str(exc)
            else:
                timings["transfer"] = _ms(time.perf_counter() - read_started)
                details["body_truncated"] = body.truncated
        else:
            timings["transfer"] = 0.0  # HEAD, 204, 304: nothing follows the head
        clock.phase = "checking the response"
        failures = self._status_failures(response.status_code)
        if cfg.headers_match:
            failures += await self._header_failures(response.headers, scope)
        finding = expiry_finding(_soonest_expiry(clock), cfg)
        details.update(finding.details)
        if finding.failure is not None:
            failures.append(finding.failure)
        if undecodable is not None:
            failures.append(undecodable)
        elif body is not None and cfg.reads_body:
            failures += await self._body_failures(body, response, scope)
        if failures:
            return Probe(False, "; ".join(failures), latency_ms, details)
        redirects = f" after {response.redirects} redirects" if response.redirects else ""
        return Probe(
            True,
            f"HTTP {response.status_code}{redirects}",
            latency_ms,
            details,
            warning=finding.warning,
        )

    def _status_failures(self, code: int) -> list[str]:
        expected = self.config.expect_status
        if expected is None:
            return [] if 200 <= code < 300 else [f"HTTP {code}, expected 2xx"]
        if any(code in accepted for accepted in expected):
            return []
        return [f"HTTP {code}, expected {', '.join(s.text for s in expected)}"]

    async def _header_failures(self, headers: httpx.Headers, scope: asyncio.Timeout) -> list[str]:
        patterns = self.config.headers_match
        values = {name: ", ".join(found) for name in patterns if (found := headers.get_list(name))}
        matched = iter(await self._search([(patterns[n], v) for n, v in values.items()], scope))
        failures = []
        for name, pattern in patterns.items():
            if name not in values:
                failures.append(f"header {name} is missing, expected to match /{pattern}/")
            elif not next(matched):
                shown = self.excerpt(values[name])
                failures.append(f"header {name} is {shown!r}, expected to match /{pattern}/")
        return failures

    async def _read_body(self, response: Response) -> BoundedBody:
        """The body up to ``max_body_bytes`` decoded bytes, kept only if an assertion
        reads it (else counted)."""
        cfg = self.config
        body = BoundedBody(response.content_encoding, cfg.max_body_bytes, keep=cfg.reads_body)
        await response.read_body(body.feed)
        return body

    async def _body_failures(
        self, body: BoundedBody, response: Response, scope: asyncio.Timeout
    ) -> list[str]:
        cfg = self.config
        data = body.data
        read = f"first {len(data)} bytes read" if body.truncated else f"{len(data)} bytes read"
        found = []
        if cfg.body_contains or cfg.body_not_contains or cfg.body_matches:
            text = await body_text(data, response.charset_encoding)
            if cfg.body_contains is not None and cfg.body_contains not in text:
                found.append(f"body does not contain {cfg.body_contains!r} ({read})")
            if cfg.body_not_contains is not None and cfg.body_not_contains in text:
                found.append(f"body contains {cfg.body_not_contains!r} ({read})")
            if cfg.body_matches is not None:
                (hit,) = await self._search([(cfg.body_matches, text)], scope)
                if not hit:
                    found.append(f"body does not match /{cfg.body_matches}/ ({read})")
        if cfg.json_assertions:
            if len(data) <= _INLINE_JSON_BYTES:
                found += self._json_failures(data, body.truncated, json.loads)
            else:  # parsed in Python in a thread: the C parser would hold the loop
                loop = asyncio.get_running_loop()
                found += await loop.run_in_executor(
                    self.resources.executor, self._json_failures, data, body.truncated, _py_loads
                )
        return found

    async def _search(self, searches: list[tuple[str, str]], scope: asyncio.Timeout) -> list[bool]:
        """Whether each ``(pattern, text)`` matches: searched in a thread by ``regex``,
        which lets the event loop run meanwhile and stops at the check's deadline
        (``re`` holds the interpreter for as long as it backtracks: a target's body can
        make an innocent ``a.*b`` quadratic)."""
        if not searches:
            return []
        loop = asyncio.get_running_loop()
        left = (scope.when() or loop.time()) - loop.time()
        return await loop.run_in_executor(self.resources.executor, _searched, searches, left)

    def _json_failures(
        self, data: bytes, truncated: bool, loads: Callable[[bytes], Any]
    ) -> list[str]:
        """The failed ``json`` assertions; runs on the loop for a small body, else in a
        thread (jmespath is Python: 20-160 ms over a MiB of JSON here)."""
        import jmespath

        try:
            document = loads(data)
        except (ValueError, RecursionError) as exc:
            cut = f" (cut at max_body_bytes {len(data)})" if truncated else ""
            why = "nested too deeply" if isinstance(exc, RecursionError) else exc
            return [f"body is not JSON{cut}: {why}"]
        found = []
        for assertion in self.config.json_assertions:
            value = jmespath.search(assertion.path, document)
            # JMESPath gives null for a missing path: null is "missing", except to equals null
            present = value is not None or (
                assertion.op in ("equals", "not_equals") and assertion.operand is None
            )
            wrong = expectation_failure(assertion, value, present=present, show=self._shown)
            if wrong is not None:
                found.append(f"json `{assertion.path}` {wrong}")
        return found

    def _shown(self, value: Any) -> str:
        from vigil.checks.expect import shown

        return self.excerpt(shown(value))

    def _failed(
        self, reason: str, clock: PhaseClock, fallback_start: float, details: dict[str, Any]
    ) -> Probe:
        started = clock.started if clock.started is not None else fallback_start
        details["timings_ms"] = _timings(clock)
        return Probe(False, reason, (time.perf_counter() - started) * 1000, details)

    # ------------------------------------------------------------------ set-up

    def _private_headers(self) -> list[str]:
        """Headers that must not follow a redirect to another origin: credentials by name
        and every value read from a secret."""
        return [
            name
            for name, value in self.config.headers.items()
            if isinstance(value, SecretValue) or is_credential_header(name)
        ]

    async def _request_headers(self) -> dict[str, str]:
        """The request headers, secrets read from Secrets Manager (and remembered)."""
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        lookups = {
            name: value
            for name, value in self.config.headers.items()
            if isinstance(value, SecretValue)
        }
        for name, value in self.config.headers.items():
            if isinstance(value, str):
                headers[name] = value
        if lookups:
            loop = asyncio.get_running_loop()
            for name, ref in lookups.items():
                secret = await loop.run_in_executor(
                    self.resources.executor, self._header_secret, name, ref
                )
                headers[name] = secret
        for name in list(headers):
            if name.lower() == "accept-encoding" and name != "Accept-Encoding":
                del headers["Accept-Encoding"]  # the user's own value wins
        return headers

    def _header_secret(self, header: str, ref: SecretValue) -> str:
        raw = self.resources.secret(ref.secret)
        if isinstance(raw, bytes):
            raw = raw.decode()
        value: Any = raw
        if ref.key is not None:
            try:
                document = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                document = None
            if not isinstance(document, dict):
                raise CheckSetupError(
                    f"headers.{header}: secret {ref.secret!r} is not JSON, so it has no key "
                    f"{ref.key!r}"
                )
            if ref.key not in document:
                keys = ", ".join(sorted(map(str, document))) or "none"
                raise CheckSetupError(
                    f"headers.{header}: secret {ref.secret!r} has no key {ref.key!r} "
                    f"(its keys: {keys})"
                )
            value = document[ref.key]
            if isinstance(value, str):
                self.remember_secret(value)
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise CheckSetupError(
                    f"headers.{header}: key {ref.key!r} of secret {ref.secret!r} is not text"
                )
            value = str(value)
        if not isinstance(value, str):
            raise CheckSetupError(f"headers.{header}: secret {ref.secret!r} is not text")
        self.remember_secret(value)
        self.remember_header(header, value)
        if any(c in value for c in "\r\n\0"):
            raise CheckSetupError(
                f"headers.{header}: the value of secret {ref.secret!r} holds a line break"
            )
        return value

    async def _ssl_context(self) -> ssl.SSLContext:
        cfg = self.config
        if not cfg.verify_tls:
            return self.resources.ssl_context(False)
        if cfg.client_cert_secret is None:
            return self.resources.ssl_context(True, cfg.ca_bundle)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.resources.executor, self._client_cert_context)

    def _client_cert_context(self) -> ssl.SSLContext:
        """A context presenting the client certificate of ``client_cert_secret``.

        The key is written to a private (0600) temporary file only for as long as
        ``load_cert_chain`` reads it: Python's ssl cannot load a key from memory.
        """
        cfg = self.config
        name = cfg.client_cert_secret
        assert name is not None
        raw = self.resources.secret(name)
        if isinstance(raw, bytes):
            raw = raw.decode()
        try:
            document = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            document = None
        if not isinstance(document, dict) or not all(
            isinstance(document.get(k), str) and document.get(k) for k in ("cert", "key")
        ):
            raise CheckSetupError(
                f"client_cert_secret {name!r}: expected JSON with 'cert' and 'key' (PEM text)"
            )
        cert, key = document["cert"], document["key"]
        self.remember_secret(key)
        for line in key.splitlines():
            if len(line) >= 16 and not line.startswith("-----"):
                self.remember_secret(line)
        digest = hashlib.sha256(f"{cert}\0{key}".encode()).hexdigest()
        cache_key = (cfg.ca_bundle, digest)
        if cache_key in _CLIENT_CERT_CONTEXTS:
            return _CLIENT_CERT_CONTEXTS[cache_key]
        import certifi  # a dependency of httpx

        context = ssl.create_default_context(cafile=cfg.ca_bundle or certifi.where())
        fd, path = tempfile.mkstemp(prefix="vigil-client-", suffix=".pem")  # mode 0600
        try:
            with os.fdopen(fd, "w") as file:
                file.write(key.strip() + "\n" + cert.strip() + "\n")
            context.load_cert_chain(path)
        except (ssl.SSLError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise CheckSetupError(
                f"client_cert_secret {name!r}: not a usable certificate and key ({reason})"
            ) from None
        finally:
            os.unlink(path)
        _CLIENT_CERT_CONTEXTS[cache_key] = context
        return context


def _timings(clock: PhaseClock) -> dict[str, float]:
    timings = {
        "dns": _ms(clock.dns_s),
        "connect": _ms(clock.connect_s),
        "tls": _ms(clock.tls_s),
    }
    if clock.head is not None:
        timings["ttfb"] = _ms(clock.ttfb_s)
    return timings


def _soonest_expiry(clock: PhaseClock):
    expiries = [certificate_expiry(c) for c in clock.certificates]
    known = [e for e in expiries if e is not None]
    return min(known) if known else None


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _searched(searches: list[tuple[str, str]], timeout: float) -> list[bool]:
    """``regex.search`` of each pattern in its text, within ``timeout`` seconds in all
    (``TimeoutError`` after), releasing the interpreter lock while it matches.

    ``regex`` reads every pattern ``re`` accepts (the config's check), the same way but
    for the odd corner (``[[:alpha:]]`` is a POSIX class to it)."""
    import regex  # only a check with headers_match or body_matches imports it

    deadline = time.monotonic() + timeout
    found = []
    for pattern, text in searches:
        left = max(0.001, deadline - time.monotonic())
        found.append(regex.search(pattern, text, concurrent=True, timeout=left) is not None)
    return found


class _PythonJSONDecoder(json.JSONDecoder):
    """The standard decoder with its pure-Python scanner: several times slower than the
    C one, but it lets the event loop's thread run while it parses (the C parser does
    not, for 15-40 ms a MiB)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan_once = json.scanner.py_make_scanner(self)


def _py_loads(data: bytes) -> Any:
    return json.loads(data, cls=_PythonJSONDecoder)
