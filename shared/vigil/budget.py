"""How a run divides the Lambda's time between the checks and what comes after them.

A run gets the function's remaining time. It keeps back a reserve for storing
the results and publishing alerts (every AWS call is bounded by the run's
deadline), so the checks get the rest. The reserve scales with what is left:
a run started with 3 s left still runs its checks, for about 2 s.
"""

from __future__ import annotations

HARD_TIMEOUT_GRACE = 1.0  # seconds a check may overrun its own timeout before it is cut
END_MARGIN = 0.5  # seconds kept back from the very end for the handler to return (5% if less)
MAX_RESERVE = 15.0
MIN_RESERVE = 0.5


def reserve_for(remaining_s: float) -> float:
    """Seconds kept back from the checks for storing and alerting after them."""
    return min(MAX_RESERVE, max(MIN_RESERVE, 0.25 * remaining_s))


def end_margin(remaining_s: float) -> float:
    return min(END_MARGIN, 0.05 * remaining_s)


def work_budget(remaining_s: float) -> float:
    """Seconds the whole run (checks, storing, alerting) may take: its deadline."""
    return max(0.0, remaining_s - end_margin(remaining_s))


def checks_budget(remaining_s: float) -> float:
    """Seconds the checks of a run started with ``remaining_s`` left may take."""
    return max(0.0, work_budget(remaining_s) - reserve_for(remaining_s))


def longest_check_timeout(function_timeout_s: float) -> float:
    """The largest check ``timeout`` that finishes (with its grace) inside the function timeout."""
    return max(0.0, checks_budget(function_timeout_s) - HARD_TIMEOUT_GRACE)
