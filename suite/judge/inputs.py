"""Seeded input generation from a ModelSpec, in numpy (no torch needed)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from zoo.spec import ModelSpec


def dims_label(dims: Mapping[str, int]) -> str:
    """A short, stable label for a size assignment, e.g. "batch=2,seq=7"."""
    return ",".join(f"{k}={v}" for k, v in sorted(dims.items())) or "static"


@dataclass(frozen=True)
class Probe:
    """One input set a hop is checked on: the sizes and which seeded draw at those sizes."""

    dims: Mapping[str, int] = field(default_factory=dict)
    draw: int = 0

    @property
    def label(self) -> str:
        """e.g. "batch=2" for the first draw, "batch=2#1" for the next one."""
        return dims_label(self.dims) + (f"#{self.draw}" if self.draw else "")

    def inputs(self, spec: ModelSpec) -> dict[str, np.ndarray]:
        return make_inputs(spec, self.dims, self.draw)


def make_inputs(spec: ModelSpec, dims: Mapping[str, int] | None = None, draw: int = 0) -> dict[str, np.ndarray]:
    """The model's inputs at `dims` (default sizes if None), seeded by spec, sizes and draw.

    The same arguments give the same arrays in every process, so eager torch,
    ONNX Runtime and TensorFlow all see identical data. `draw` picks further
    independent samples (evaluation and calibration sets for quantization).
    """
    sizes = dict(spec.dims if dims is None else dims)
    if spec.feeds is not None:  # stored test data (an ONNX file's test_data_set_N), not a seeded draw
        return spec.feeds(sizes, draw)
    # The label carries the names too, so {batch: 2, seq: 5} and {batch: 5, seq: 2} differ.
    seed = [spec.seed, zlib.crc32(dims_label(sizes).encode())] + ([draw] if draw else [])
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


def export_dims(spec: ModelSpec, dynamic: bool) -> dict[str, int]:
    """The sizes the example inputs of an export have.

    Static exports use the default sizes. torch.export specializes a dim whose
    example size is 0 or 1 into a constant, and torch.onnx.export(dynamo=True)
    then writes a fixed dim without complaint; so a dynamic export takes the
    first declared size set in which every dynamic dim is at least 2.
    """
    if not dynamic:
        return dict(spec.dims)
    for sizes in (spec.dims, *spec.other_dims):
        if all(v >= 2 for v in sizes.values()):
            return dict(sizes)
    return dict(spec.dims)
