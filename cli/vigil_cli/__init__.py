"""The ``vigil`` developer command (never part of the Lambda layer).

- ``main``: the command line (entry point ``vigil``).
- ``commands``: one module per subcommand, and signal handling.
- ``local``: embedded AWS from template.yaml, a deployed stack, the handler harness.
- ``screen``: what is printed (lines, tables, views of runs and alerts, EMF read-back).
- ``targets``: real local targets (HTTP, TCP, PostgreSQL) for tests, demo and benchmark.
"""
