"""The ``vigil`` subcommands, one module each (``validate``, ``run``, ``status``, ``demo``),
and how they receive Ctrl-C and SIGTERM (``interrupts``)."""
