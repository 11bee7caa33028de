"""Each function's objects, built from its Lambda environment: the composition root.

``runner`` builds the runner, ``notifier`` the notifier, ``status`` the status
queries, each a deliberate warm-start cache keyed by its configuration file and
environment. These modules are the only ones that put the configuration, the
store, the clients and a function's machinery together; nothing else in the
layer imports them. This package's ``__init__`` imports nothing, so that each
function pays only for its own builder on a cold start.
"""
