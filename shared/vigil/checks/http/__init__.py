"""HTTP(S) checks: the model in ``config.py``, the check in ``check.py`` (h11 on asyncio
streams, imported on use)."""
