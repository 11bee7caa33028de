"""PostgreSQL checks: the model in ``config.py``, the pg8000 check in ``check.py`` (on use)."""
