"""A Lambda container's initialisation, kept cheap: what every function's handler does.

``begin()`` comes first in a handler module, before its heavy imports. In Lambda
(``AWS_LAMBDA_FUNCTION_NAME`` set) it turns the garbage collector off: init only
creates objects that live as long as the container (modules, the config, clients),
so a collection then walks them for nothing - about 60 ms of the runner's cold
start here, most of it inside the dependencies' imports. It also tells pydantic
not to look for plugins (unless the function's environment says otherwise): the
search reads every installed package's entry points when the first model is
built, and Vigil uses none.

``end()`` is called by the first invocation, even one whose event is refused: in
Lambda it collects once and freezes what exists (modules, config, clients are
never walked again; the garbage of each invocation still is collected), then
turns the collector back on. Outside Lambda (tests, the CLI) nothing is frozen,
since whatever else the process holds at that moment would never be freed.

This module imports only the standard library: it runs before anything else.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Mapping

_FROZEN = False  # once per process


def in_lambda(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def begin() -> None:
    """Before the handler module's imports: collector off in Lambda, no plugin search."""
    if in_lambda():
        gc.disable()
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")


def end(environ: Mapping[str, str] = os.environ) -> None:
    """After init, once per container: collect, freeze what lives on, collector back on."""
    global _FROZEN
    if not _FROZEN and in_lambda(environ):
        _FROZEN = True
        gc.collect()
        gc.freeze()
    gc.enable()
