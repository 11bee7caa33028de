"""The alert policy: from a check's confirmed transition to the alerts actually sent.

``vigil.policy.decide.decide`` applies the rules to one check on one counted run, in this order:

1. maintenance: inside a window nothing is sent (and nothing else is decided);
   the first run after it sends one alert for where the check stands
   (``maintenance``);
2. ``error_rate``: intermittent failures that never confirm (``error_rate``);
3. ``reminder_every``: a failing check is reminded of (``reminder``);
4. ``depends_on``: a failing parent holds its children's failures
   (``dependencies``);
5. the gate: a ``recovery`` only for a check whose failure was sent, no
   failure repeating what was last sent; and the memory of what was sent.

Every rule is a pure function of (the check's run, its memory, the alerts so
far) -> (memory, alerts): no clock, no I/O. Every time is the run's scheduled time.
"""
