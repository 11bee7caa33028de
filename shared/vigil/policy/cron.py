"""Five-field cron expressions (minute hour day-of-month month day-of-week), for
maintenance windows: numbers, ``*``, ranges ``a-b``, steps ``*/n`` and ``a-b/n``,
lists, and month and day names (``JAN``, ``MON``). Day-of-week 0 and 7 are
Sunday. As in cron, when both day fields are restricted a day matching either
one matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_NAMES = {
    3: {
        m: i
        for i, m in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
        )
    },
    4: {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
}


def _number(text: str, index: int) -> int:
    upper = text.upper()
    if upper in _NAMES.get(index, {}):
        return _NAMES[index][upper]
    if not text.isdigit():
        raise ValueError(f"{_FIELDS[index][0]}: {text!r} is not a number")
    return int(text)


def _field(text: str, index: int) -> frozenset[int]:
    name, low, high = _FIELDS[index]
    values: set[int] = set()
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name}: bad step in {part!r}")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _number(a, index), _number(b, index)
        else:
            first = _number(span, index)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise ValueError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> CronSchedule:
        parts = expression.split()
        if len(parts) != 5:
            raise ValueError(
                f"cron needs 5 fields (minute hour day-of-month month day-of-week), "
                f"got {len(parts)}: {expression!r}"
            )
        fields = [_field(part, i) for i, part in enumerate(parts)]
        return cls(*fields, parts[2] != "*", parts[4] != "*")

    def matches(self, moment: datetime) -> bool:
        """True when the minute of ``moment`` (local wall-clock time) is a start."""
        if moment.minute not in self.minutes or moment.hour not in self.hours:
            return False
        if moment.month not in self.months:
            return False
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    def started_within(self, moment: datetime, duration: timedelta, zone: tzinfo) -> bool:
        """True when a start s exists with s <= moment < s + duration.

        Starts are the minutes whose wall-clock time in ``zone`` matches; durations
        are real time (the steps back are taken in UTC), so a window keeps its length
        across a DST change. A start in the hour a spring change skips never occurs;
        one in the hour an autumn change repeats occurs twice.
        """
        start = moment.astimezone(UTC).replace(second=0, microsecond=0)
        steps = int(duration.total_seconds() // 60) + 1
        for back in range(steps):
            candidate = start - timedelta(minutes=back)
            if moment - candidate >= duration:
                return False
            if self.matches(candidate.astimezone(zone)):
                return True
        return False
