"""The corpus's size cap: a generated model over it is left out, and its rows say so.

The cap keeps a corpus run inside this machine: every export of a model is written to the cache
once per exporter and shape mode (4 files on the corpus profile), and a 100M-parameter model is
400 MB a file. Parameters are counted on the meta device where the builder allows it, so a model
over the cap is never allocated.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from zoo.spec import EntryExcluded

DEFAULT_MAX_MPARAMS = 50
CAP_VARIABLE = "ZOO_CORPUS_MAX_MPARAMS"


def max_params() -> int:
    """The cap in parameters: $ZOO_CORPUS_MAX_MPARAMS millions, else 50 million."""
    value = os.environ.get(CAP_VARIABLE, "")
    try:
        millions = float(value) if value else DEFAULT_MAX_MPARAMS
    except ValueError:
        raise ValueError(f"{CAP_VARIABLE}={value!r}: give the cap in millions of parameters, e.g. 50") from None
    return int(millions * 1_000_000)


def parameter_count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def meta_parameter_count(build: Callable[[], Any]) -> int | None:
    """Parameters of the model `build()` makes, counted on the meta device; None where it cannot build there."""
    import torch

    try:
        with torch.device("meta"):
            return parameter_count(build())
    except Exception:  # noqa: BLE001 - some builders copy weights at init, which meta tensors refuse
        return None


def check_size(name: str, count: int) -> None:
    """Raise EntryExcluded when `count` parameters is over the cap."""
    cap = max_params()
    if count > cap:
        raise EntryExcluded(
            f"{name} excluded by the corpus size cap: {count / 1e6:.1f}M parameters, over {cap / 1e6:g}M "
            f"(set {CAP_VARIABLE} to raise it)"
        )
