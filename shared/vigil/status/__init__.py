"""What the status API, the status page and ``vigil status`` show, read from the store.

``queries`` computes the figures (availability, latency percentiles, incidents,
trends, history pages) into typed records; ``page`` renders them as HTML.
"""

from __future__ import annotations

from vigil.status.queries import (
    BadRequestError,
    CheckDetail,
    CheckSummary,
    GroupSummary,
    HistoryPage,
    Incident,
    NotFoundError,
    StatusOverview,
    StatusQueries,
)

__all__ = [
    "BadRequestError",
    "CheckDetail",
    "CheckSummary",
    "GroupSummary",
    "HistoryPage",
    "Incident",
    "NotFoundError",
    "StatusOverview",
    "StatusQueries",
]
