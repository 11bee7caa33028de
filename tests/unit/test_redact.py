import pytest

from vigil.redact import redact_url, scrub


def test_redact_url_drops_userinfo_and_sensitive_query_values():
    url = "https://admin:s3cret@api.example.com/health?token=abc&region=eu&api_key=zz"
    shown = redact_url(url)
    assert "s3cret" not in shown and "admin" not in shown
    assert "abc" not in shown and "zz" not in shown
    assert "region=eu" in shown
    assert shown.startswith("https://***@api.example.com/health?")


def test_redact_url_keeps_plain_urls():
    assert redact_url("http://127.0.0.1:8080/ok") == "http://127.0.0.1:8080/ok"


def test_scrub_replaces_every_secret_longest_first():
    assert scrub("pw=hunter2 and hunter2x", ["hunter2", "hunter2x"]) == "pw=*** and ***"
    assert scrub("nothing here", []) == "nothing here"


# --- every form of a credential -----------------------------------------------------------

import base64  # noqa: E402
import json  # noqa: E402
from urllib.parse import quote, quote_plus  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from vigil.redact import (  # noqa: E402
    EXCERPT_CHARS,
    authorization_forms,
    excerpt,
    header_forms,
    secret_forms,
    url_credential_forms,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_forms_cover_url_base64_and_json_encodings():
    value = 'pä ss/w"rd+1'
    forms = secret_forms(value)
    assert {
        value,
        quote(value, safe=""),
        quote_plus(value),
        b64(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    } <= forms
    assert secret_forms("ab") == set() and secret_forms("") == set()


def test_basic_authorization_registers_the_base64_the_pair_and_the_password():
    forms = authorization_forms(f"Basic {b64('alice:S3cret pass')}")
    assert {b64("alice:S3cret pass"), "alice:S3cret pass", "S3cret pass", "S3cret%20pass"} <= forms
    assert "alice" not in forms  # a user name alone is no secret
    assert {"tok-123456", b64("tok-123456")} <= authorization_forms("Bearer tok-123456")
    assert "not-base64!" in authorization_forms("Basic not-base64!")  # kept as it is


def test_url_userinfo_registers_basic_auth_of_the_decoded_pair():
    forms = url_credential_forms("https://bob:p%40ss%20word@h/")
    assert {"p@ss word", "p%40ss%20word", b64("bob:p@ss word"), "bob:p@ss word"} <= forms
    assert url_credential_forms("https://h/") == set()


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("Cookie", "session=abcdef123; theme=dark", "abcdef123"),
        ("X-Api-Key", "k-123456", "k-123456"),
        ("X-Auth-Token", "t-123456", "t-123456"),
        ("Proxy-Authorization", "Bearer p-123456", "p-123456"),
    ],
)
def test_credential_headers_are_registered(name, value, secret):
    assert secret in header_forms(name, value)


def test_plain_headers_are_not_secrets():
    assert header_forms("Accept", "application/json") == set()


def test_excerpt_masks_before_cutting_and_stays_printable():
    secret = "Zm9vOmJhcmJhemJhenF1eA=="
    text = "x" * (EXCERPT_CHARS - 10) + secret  # the cut would fall inside the secret
    shown = excerpt(text, secret_forms(secret))
    assert len(shown) <= EXCERPT_CHARS and "Zm9v" not in shown
    assert excerpt(b"HTTP/1.1 2OO \x00\x1b[31m\xff", []) == "HTTP/1.1 2OO ??[31m?"


@given(
    secret=st.text(min_size=3, max_size=40).filter(lambda s: "*" not in s),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    encode=st.sampled_from(
        [
            lambda s: s,
            lambda s: quote(s, safe=""),
            quote_plus,
            lambda s: b64(s),
            lambda s: json.dumps(s)[1:-1],
        ]
    ),
)
def test_no_encoding_of_a_secret_survives_scrub(secret, before, after, encode):
    shown = scrub(before + encode(secret) + after, secret_forms(secret))
    assert encode(secret) not in shown


def test_printable_keeps_letters_but_never_control_or_bidi_characters():
    from vigil.redact import printable

    assert printable("café \x1b[31m\u202eevil", ascii_only=False) == "café ?[31m?evil"
    assert printable("café", ascii_only=True) == "caf?"


def test_credential_query_parameters_of_a_url_are_secrets_too():
    forms = url_credential_forms("https://h/health?region=eu&api_key=k3y%2Fvalue&token=t0ken")
    assert {"k3y/value", "k3y%2Fvalue", b64("k3y/value"), "t0ken"} <= forms
    assert "eu" not in forms and "region" not in forms
