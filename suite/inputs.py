"""Seeded input generation from a ModelSpec, in numpy (no torch needed)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from zoo.spec import ModelSpec


def dims_label(dims: Mapping[str, int]) -> str:
    """A short, stable label for a size assignment, e.g. "batch=2,seq=7"."""
    return ",".join(f"{k}={v}" for k, v in sorted(dims.items())) or "static"


def make_inputs(spec: ModelSpec, dims: Mapping[str, int] | None = None) -> dict[str, np.ndarray]:
    """The model's inputs at `dims` (default sizes if None), seeded by spec and sizes.

    The same spec and sizes give the same arrays in every process, so eager
    torch, ONNX Runtime and later TensorFlow all see identical data.
    """
    sizes = dict(spec.dims if dims is None else dims)
    seed = [spec.seed, *sorted(sizes.values())]
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for inp in spec.inputs:
        shape = inp.concrete_shape(sizes)
        dtype = np.dtype(inp.dtype)
        if dtype.kind in "iu":
            arrays[inp.name] = rng.integers(inp.low, inp.high, size=shape, dtype=dtype)
        elif dtype.kind == "b":
            arrays[inp.name] = rng.integers(0, 2, size=shape).astype(bool)
        else:
            arrays[inp.name] = rng.standard_normal(size=shape).astype(dtype)
    return arrays
