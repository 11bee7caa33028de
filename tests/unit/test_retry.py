"""The one retry policy: its waits, its jitter, and that it never sleeps past the time left."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.retry import BATCH_UNPROCESSED, STORE_SAVE, Backoff


def test_exact_backoff_doubles_up_to_its_cap():
    backoff = Backoff(attempts=6, base_s=1.0, max_s=8.0, jitter=0)
    assert [backoff.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]


@given(retry=st.integers(1, 40))
def test_jitter_stays_between_half_and_the_whole_wait(retry):
    for backoff in (STORE_SAVE, BATCH_UNPROCESSED):
        whole = min(backoff.max_s, backoff.base_s * 2 ** (retry - 1))
        assert whole * 0.5 <= backoff.delay(retry) <= whole


def test_pause_sleeps_only_while_retries_and_time_remain():
    slept: list[float] = []
    backoff = Backoff(attempts=3, base_s=1.0, max_s=8.0, jitter=0)
    assert backoff.pause(1, lambda: 10.0, sleep=slept.append) is True
    assert backoff.pause(2, lambda: 2.5, reserve_s=1.0, sleep=slept.append) is False  # 2 + 1
    assert backoff.pause(3, lambda: 100.0, sleep=slept.append) is False  # 3 attempts: done
    assert slept == [1.0]


@pytest.mark.parametrize("backoff", [STORE_SAVE, BATCH_UNPROCESSED])
def test_the_policies_bound_their_total_wait(backoff):
    """Worst case, every retry at its whole wait: what a loop can cost in sleeping."""
    total = sum(
        min(backoff.max_s, backoff.base_s * 2 ** (n - 1)) for n in range(1, backoff.attempts)
    )
    assert total <= 10.0
