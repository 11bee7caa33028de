"""Alerts: the typed document (``document``), pure message builders (``message``) and
delivery to SNS (``sns``)."""
