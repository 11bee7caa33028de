"""A Lambda container's cold start, the same for every handler module.

While the container initialises, the handler module imports its dependencies and
builds what lives as long as the container (clients, caches): a garbage
collection then walks all of it for nothing - about 60 ms of the runner's cold
start here, most of it inside the dependencies' imports. So in Lambda
(``AWS_LAMBDA_FUNCTION_NAME`` set) ``quiet_init`` turns the collector off, and the
first invocation calls ``freeze_long_lived_objects``: one collection, what exists
is frozen out of the collector's reach, and the collector is back on.

``quiet_init`` also turns off pydantic's plugin discovery (a read of every
installed package's entry points when the first model is built), unless
``PYDANTIC_DISABLE_PLUGINS`` is already set: Vigil uses no pydantic plugin.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping, MutableMapping

LAMBDA_ENV = "AWS_LAMBDA_FUNCTION_NAME"  # set by Lambda in every container
_LONG_LIVED_FROZEN = False  # once per process: see freeze_long_lived_objects


def quiet_init(environ: MutableMapping[str, str] = os.environ) -> None:
    """Call first in a handler module, before the imports it makes its init with."""
    if environ.get(LAMBDA_ENV):
        gc.disable()
    environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def freeze_long_lived_objects(environ: Mapping[str, str] = os.environ) -> None:
    """In Lambda, once per container: put what exists now out of the GC's reach.

    Called by the handler after init (on its first invocation). A full collection
    walks every object, boto3's included: 50-90 ms here (several times that on a
    small Lambda) during which the runner's event loop stands still and every
    check in flight reads that much too slow. Frozen objects (modules, config,
    clients) are never walked again; the garbage of each invocation still is
    collected. Outside Lambda (``AWS_LAMBDA_FUNCTION_NAME`` unset: tests, the CLI)
    nothing is frozen, since whatever else the process holds at that moment would
    never be freed.

    The collector is turned (back) on in any case: ``quiet_init`` turned it off
    while the container initialised.
    """
    global _LONG_LIVED_FROZEN
    if not _LONG_LIVED_FROZEN and environ.get(LAMBDA_ENV):
        _LONG_LIVED_FROZEN = True
        gc.collect()
        gc.freeze()
    gc.enable()
