"""Vigil: serverless health checks on AWS.

The package is the Lambda layer. Handlers in ``functions/`` stay thin and call
into it; everything here is importable without AWS credentials, and AWS clients
are created on first use so that tests can start moto after importing.
"""

__version__ = "0.1.0"
