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
