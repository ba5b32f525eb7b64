"""Whether the eager model agrees with itself: a model that does not is no reference for any export.

Two eager runs on the same inputs, in one process without reseeding, must give the same outputs
within the case's bounds (the float32 floor's). A model with random ops in forward (torch.rand
noise, torch.multinomial sampling) or nondeterministic kernels does not: its cases are `skip`
"not judged: the model is not deterministic ..." (suite.run.determinism), not mismatches a
person would chase in the exporter.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from suite.judge.floor import FLOOR_FACTOR, Bound


def self_disagreement(first: Sequence[np.ndarray], second: Sequence[np.ndarray], bounds: Sequence[Bound]) -> str:
    """Why two eager runs on the same inputs disagree beyond the case's bounds, or "" when they agree."""
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        if a.shape != b.shape:
            return f"the eager model is not deterministic: output {index} has shape {a.shape}, then {b.shape}"
        if a.dtype.kind != "f" or a.size == 0:
            if not np.array_equal(a, b):
                return (
                    f"the eager model is not deterministic: output {index} changes between two runs on the same inputs"
                )
            continue
        err = float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        bound = bounds[index] if index < len(bounds) else None
        limit = bound.atol if bound is not None else 0.0
        if err > max(limit, 0.0) and err > 0:
            floor = (
                f" ({err / (limit / FLOOR_FACTOR):.3g}x its float32 floor)" if bound is not None and bound.floor else ""
            )
            return (
                f"the eager model is not deterministic: two runs on the same inputs differ by {err:.3g} at output "
                f"{index}{floor}, beyond the case's bound: no export can be judged against it"
            )
    return ""


def with_random_ops(reason: str, ops: Sequence[str]) -> str:
    """`reason`, naming the random ops its forward called where any were seen."""
    if not reason or not ops:
        return reason
    return f"{reason} (random ops in forward: {', '.join(sorted(set(ops)))})"
