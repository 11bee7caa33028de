"""A warm-start cache of closed rollups: one check's closed hours and days, kept between requests.

The detail of a check reads its shard's ``HOUR#`` and ``DAY#`` items for the
latency sketches, and each item holds every check of the shard: most of what
the detail costs. A closed period's item is written once, before the state
that closes it is saved, and is not written again; so a detail asked for again
in the same warm container reads only the periods closed since the last time
(none within the same hour; one item when an hour or a day has closed).

What is known of a check is bounded (``CACHED_ENTRIES`` (check, kind) pairs,
least recently used dropped first) and is never trusted past the newest
closed period actually read: a period a lagging (eventually consistent) read
did not return yet is asked for again on the next request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from vigil.rollups import PeriodRollups
from vigil.status.periods import next_period
from vigil.store.base import StateStore

CACHED_ENTRIES = 128  # (group, shard, kind, check): 64 checks' hours and days, under 10 MB


@dataclass(frozen=True)
class _Known:
    """A check's closed rollups of one kind: every stored period from ``since`` through
    ``newest`` (inclusive), oldest first."""

    since: str
    newest: str
    periods: tuple[PeriodRollups, ...]


class ClosedRollupCache:
    """``store.check_rollups`` that reads only the periods closed since the last call.

    Answers what ``store.check_rollups`` would for the periods before the open
    one it is given (and, like it, returns any later one the store already holds).
    The rollups returned are shared with later calls: read them, never change
    them. Safe to call from several threads.
    """

    def __init__(self, store: StateStore, *, entries: int = CACHED_ENTRIES):
        self.store = store
        self.entries = entries
        self._known: OrderedDict[tuple[str, int, str, str], _Known] = OrderedDict()
        self._lock = threading.Lock()

    def check_rollups(
        self,
        group: str,
        shard: int,
        kind: str,
        since: str,
        check: str,
        open_rollups: PeriodRollups | None,
    ) -> list[PeriodRollups]:
        """``check``'s closed rollups of ``kind`` with period >= ``since``, oldest first.

        ``open_rollups`` is the open period of the shard's state: every period
        before it is closed, so none older than the newest one read can appear.
        """
        key = (group, shard, kind, check)
        with self._lock:
            known = self._known.get(key)
            if known is not None:
                self._known.move_to_end(key)
        kept: list[PeriodRollups] = []
        read_from = since
        if known is not None and known.since <= since:
            kept = [r for r in known.periods if r.period >= since]
            following = next_period(kind, known.newest)
            if open_rollups is not None and following >= open_rollups.period:
                return kept  # nothing has closed since the last read
            read_from = max(since, following)
        read = self.store.check_rollups(group, shard, kind, read_from, check)
        rollups = kept + read
        if open_rollups is not None:
            self._remember(key, kind, since, rollups, open_rollups.period)
        return rollups

    def _remember(
        self,
        key: tuple[str, int, str, str],
        kind: str,
        since: str,
        rollups: list[PeriodRollups],
        open_period: str,
    ) -> None:
        """Keep the periods before the open one, if their names are periods of ``kind``."""
        closed = tuple(r for r in rollups if r.period < open_period)
        if not closed:
            return
        try:
            next_period(kind, closed[-1].period)
        except ValueError:  # not a period name: do not trust what follows from it
            return
        with self._lock:
            self._known[key] = _Known(since, closed[-1].period, closed)
            self._known.move_to_end(key)
            while len(self._known) > self.entries:
                self._known.popitem(last=False)
