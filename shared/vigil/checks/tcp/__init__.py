"""TCP checks: the model in ``config.py``, the asyncio check in ``check.py`` (imported on use)."""
