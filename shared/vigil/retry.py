"""The one retry policy: exponential backoff with jitter, bounded by the time left.

Every retry loop in Vigil (saving a run's state or history, settling the outbox,
re-sending what a DynamoDB batch left unprocessed, delivering a notification)
waits as a ``Backoff`` says, and never sleeps past the time it has: ``pause``
answers False instead, and the loop stops.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import NamedTuple


class Backoff(NamedTuple):  # its class made at import in a tenth of a dataclass's time
    """``attempts`` in all; before retry ``n`` (1-based) wait ``base_s * 2**(n-1)``, at
    most ``max_s``, scaled by a random factor in ``[1 - jitter, 1]`` (so that
    invocations retrying together spread out; ``jitter=0``: exactly)."""

    attempts: int
    base_s: float
    max_s: float
    jitter: float = 0.5

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry ``retry`` (the first retry is 1)."""
        wait = min(self.max_s, self.base_s * 2 ** (retry - 1))
        return wait * random.uniform(1.0 - self.jitter, 1.0) if self.jitter else wait

    def pause(
        self,
        retry: int,
        time_left: Callable[[], float] | None = None,
        *,
        reserve_s: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> bool:
        """Wait before retry ``retry``; False (without waiting) when the retries are used
        up, or when the wait and ``reserve_s`` do not fit in ``time_left()``."""
        if retry >= self.attempts:
            return False
        wait = self.delay(retry)
        if time_left is not None and time_left() <= wait + reserve_s:
            return False
        sleep(wait)
        return True


# Store calls a run retries (a state save that failed or lost its answer, a history
# record): 50 ms, 100 ms, ... at most 2 s, jittered, 8 attempts, while the run has time.
STORE_SAVE = Backoff(attempts=8, base_s=0.05, max_s=2.0)
# What a DynamoDB batch left unprocessed (throttled), sent again: up to 0.8 s apart.
BATCH_UNPROCESSED = Backoff(attempts=8, base_s=0.05, max_s=0.8)
# A notification to one destination: 4 attempts, waiting exactly 1, 2 then 4 s (unless
# the destination sent a Retry-After).
DELIVERY = Backoff(attempts=4, base_s=1.0, max_s=8.0, jitter=0)
