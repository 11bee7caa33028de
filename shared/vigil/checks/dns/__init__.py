"""DNS checks: the model in ``config.py``, the dnspython check in ``check.py`` (imported on use)."""
