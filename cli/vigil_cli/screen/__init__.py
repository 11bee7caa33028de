"""What the ``vigil`` command shows: plain or styled lines and tables (``output``), the
views of runs, alerts and statuses (``views``), and CloudWatch EMF documents read back
as metric points (``emf``)."""

from __future__ import annotations

from vigil_cli.screen.output import Screen, shown

__all__ = ["Screen", "shown"]
