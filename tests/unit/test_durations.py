import pytest

from vigil.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("5s", 5),
        ("1m", 60),
        ("1h", 3600),
        ("1d", 86400),
        (2, 2),
        (0.25, 0.25),
        ("1.5s", 1.5),
        (" 10 s ", 10),
        ("30", 30),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "bad",
    [
        "fast",
        "5 minutes",
        "-1s",
        -3,
        True,
        None,
        "1w",
        "",
        "inf",
        "nan",
        float("inf"),
        float("nan"),
        "1e400",
        1e12,
        "3661d",
    ],
)
def test_parse_duration_refuses(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "500ms"), (60, "1m"), (3600, "1h"), (90, "90s"), (86400 * 14, "14d"), (90000, "25h")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_a_window_of_infinite_duration_is_refused_at_load():
    """It passed validation once, then raised OverflowError on the first run."""
    from vigil.config import ConfigError, parse_config

    raw = {
        "groups": {"core": {"checks": [{"name": "a", "type": "tcp", "host": "h", "port": 1}]}},
        "maintenance": [{"name": "w", "checks": ["*"], "cron": "0 2 * * *", "duration": "inf"}],
    }
    with pytest.raises(ConfigError) as refused:
        parse_config(raw)
    assert [path for path, _ in refused.value.problems] == ["maintenance[0].duration"]
