"""What the status API, the status page and ``vigil status`` show, read from the store.

``queries`` decides what to read for each answer (``StatusQueries``);
``periods`` turns windows into hour and day periods; ``figures`` computes
availability, percentiles, trends and incidents; ``records`` holds the typed
records answered and their JSON; ``cursor`` makes and checks history cursors;
``page`` renders the records as HTML; ``api`` routes requests.
"""

from __future__ import annotations

from vigil.status.exceptions import BadRequestError, NotFoundError, StatusQueryError
from vigil.status.queries import StatusQueries
from vigil.status.records import (
    CheckDetail,
    CheckSummary,
    GroupSummary,
    HistoryPage,
    Incident,
    StatusOverview,
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
    "StatusQueryError",
]
