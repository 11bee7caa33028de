"""One scheduled run of a check group: the event, the checks, counting, alerting.

``vigil.run.runner.Runner`` reads as the numbered steps of a run; each step has
its own module here (``event``, ``execution``, ``fold``, ``fence``, ``outbox``,
``deadline``, ``summary``).
"""
