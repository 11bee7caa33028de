"""HTTP(S) checks: the model in ``config.py``, the httpx check in ``check.py`` (imported on use)."""
