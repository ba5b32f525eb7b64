"""Tolerances calibrated from a model's own float32 noise floor.

A fixed atol/rtol holds a 2-layer MLP and a 16-block CNN to the same absolute error,
although float32 promises them very different things: the deep net's eager output is
itself several 1e-4 away from the exact result on some inputs and not on others, so a
fixed tolerance passes one input draw and fails the next. Instead, each reference output
carries its floor: how far eager float32 is from the same model evaluated in float64 on
the same inputs. A backend doing the same float32 computation in another order lands
within a small multiple of that; a wrong kernel lands orders of magnitude beyond it.
Where no float64 run is possible the model's declared (static) tolerance applies, and
the row says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from zoo.spec import Tolerance

# How far beyond the floor a backend may land. Measured on the default profile (README,
# "Tolerances"): ONNX Runtime, onnx-tf and the tf2onnx round trip stay within a few times
# the floor on every draw; the margin absorbs the tail of that spread.
FLOOR_FACTOR = 16.0
# Part of the cache key of float64 runs: bump it when a framework's float64 runner changes
# (its cached outputs would otherwise outlive the fix).
FLOAT64_RUN_VERSION = 2
# No output is held closer than a few ulps of its own largest magnitude.
_EPS32 = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class Bound:
    """The closeness rule for one output: |candidate - reference| <= atol + rtol * |reference|.

    floor is set when the rule is calibrated (atol = FLOOR_FACTOR x floor, rtol = 0).
    """

    atol: float
    rtol: float
    floor: float | None = None

    @classmethod
    def static(cls, tolerance: Tolerance) -> Bound:
        return cls(tolerance.atol, tolerance.rtol)

    @classmethod
    def calibrated(cls, floor: float) -> Bound:
        return cls(FLOOR_FACTOR * floor, 0.0, floor)

    def describe(self) -> str:
        if self.floor is None:
            return f"atol={self.atol:g} + rtol={self.rtol:g}*|ref|"
        return f"{FLOOR_FACTOR:g}x the float32 floor {self.floor:.3g}"


def widened(array: np.ndarray) -> np.ndarray:
    """`array` as the float64 run takes it: floats widened to float64, integers and booleans kept."""
    return array.astype(np.float64) if array.dtype.kind == "f" else array


def output_floor(ref32: np.ndarray, ref64: np.ndarray) -> float | None:
    """max |float32 - float64| over the output (at least a few ulps of its scale); 0 for exact dtypes.

    None when the two runs disagree in shape (no floor can be read from them).
    """
    if ref32.shape != ref64.shape:
        return None
    if ref32.dtype.kind not in "fc":
        return 0.0  # integer and boolean outputs must match exactly
    exact = np.asarray(ref64, dtype=np.float64)
    finite = np.isfinite(exact) & np.isfinite(ref32)
    if not finite.any():
        return None
    diff = np.abs(ref32.astype(np.float64)[finite] - exact[finite])
    scale = float(np.abs(exact[finite]).max())
    return max(float(diff.max()), _EPS32 * scale)


def bounds_for(
    ref32: Sequence[np.ndarray], ref64: Sequence[np.ndarray] | None, tolerance: Tolerance
) -> tuple[tuple[Bound, ...], str]:
    """One bound per output and the rule they follow, as a row shows it."""
    static = tuple(Bound.static(tolerance) for _ in ref32)
    if ref64 is None:
        return static, "static"
    if len(ref64) != len(ref32):
        return static, f"static (the float64 run gave {len(ref64)} outputs, float32 {len(ref32)})"
    narrow = [str(b.dtype) for a, b in zip(ref32, ref64, strict=True) if a.dtype.kind == "f" and b.dtype != np.float64]
    if narrow:  # a framework that quietly kept float32 would make every floor a few ulps
        return static, f"static (the float64 run computed in {narrow[0]})"
    floors = [output_floor(a, b) for a, b in zip(ref32, ref64, strict=True)]
    if any(f is None for f in floors):
        return static, "static (the float64 run's outputs do not line up with float32's)"
    return tuple(Bound.calibrated(f) for f in floors if f is not None), f"calibrated ({FLOOR_FACTOR:g}x fp32 floor)"
