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

An ONNX file from outside has no float64 run: its expected outputs (stored, or ONNX Runtime
CPU's) are judged by the static tolerance, widened to a few ulps of each output's own dtype
(a float16 output cannot promise float32's 1e-4), exactly for integers, booleans and strings,
and with NaN/Inf in them taken as the file's answer (suite/judge/compare.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ml_dtypes  # installed with onnx; its finfo knows bfloat16 and the float8 types as well as numpy's
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
# How many units in the last place of its own dtype a file's float output may be off, relative and
# (scaled by the output's largest magnitude) absolute: two runtimes rounding the same float16 or
# float8 result differ by an ulp or two; a wrong kernel lands far beyond.
PRECISION_ULPS = 4.0
# The rule of a file's outputs before what their dtypes add to it.
FILE_RULE = "static (an ONNX file has no float64 run)"
# How far beyond its quantized floor (its output's change under half a step of input rounding:
# suite.workers.torch_models.quantized_floor) a quantized model's backend may land. Two INT8
# backends round a tie differently at some layer and the model carries that step to its output:
# on the corpus's quantized entries ONNX Runtime landed at 0.5-1.2x the floor, 5 to 60 steps of
# the output's own scale (one step at the first QuantizeLinear, grown by depth).
QUANTIZED_FACTOR = 4.0
# How far beyond its float16-weight floor (the export's output change on ONNX Runtime when every
# float32 constant is rounded to float16: suite.run.half_floor) a float16-weight model may land, on
# top of the float32 bound. Measured on 21 TFLite float16 files of the default models: 0.98-1.09x.
# Two float16 roundings of the same model differ where a converter folds weights before rounding
# (BatchNorm into a convolution), so the two land near each other, not on each other.
HALF_FACTOR = 4.0
EXACT = "exact"  # Bound.precision of integer, boolean and string outputs


class ReferenceKind(enum.StrEnum):
    """What a reference output is, which decides what a NaN or Inf in it means."""

    EAGER = "eager"  # a built-in model's eager output: NaN/Inf there is a broken model, never an answer
    STORED = "stored outputs"  # an ONNX file's test_data_set_N/output_K.pb: NaN/Inf there is its answer
    ORT_CPU = "ONNX Runtime CPU's outputs"  # a file that stores none: ORT CPU's stand in for them, NaN included

    @property
    def non_finite_expected(self) -> bool:
        """Whether NaN and +/-Inf in the reference are values a candidate must reproduce in place."""
        return self is not ReferenceKind.EAGER


@dataclass(frozen=True)
class Bound:
    """The closeness rule for one output: |candidate - reference| <= atol + rtol * |reference|.

    floor is set when the rule is calibrated (atol = FLOOR_FACTOR x floor, rtol = 0).
    reference says what NaN/Inf in the reference mean (ReferenceKind); precision names the dtype
    whose ulps widened a static rule (PRECISION_ULPS), or is EXACT for exact outputs.
    """

    atol: float
    rtol: float
    floor: float | None = None
    reference: ReferenceKind = ReferenceKind.EAGER
    precision: str = ""
    quantized: bool = False  # floor is a quantized model's (atol = QUANTIZED_FACTOR x floor)
    half_floor: float | None = None  # set for float16 weights: atol includes HALF_FACTOR x this floor

    @classmethod
    def static(cls, tolerance: Tolerance, reference: ReferenceKind = ReferenceKind.EAGER) -> Bound:
        return cls(tolerance.atol, tolerance.rtol, reference=reference)

    @classmethod
    def calibrated(cls, floor: float) -> Bound:
        return cls(FLOOR_FACTOR * floor, 0.0, floor)

    @classmethod
    def quantized_floor(cls, floor: float) -> Bound:
        return cls(QUANTIZED_FACTOR * floor, 0.0, floor, quantized=True)

    def with_half_floor(self, floor: float) -> Bound:
        """This bound widened by HALF_FACTOR x an output's float16-weight floor."""
        return replace(self, atol=self.atol + HALF_FACTOR * floor, half_floor=floor)

    def describe(self) -> str:
        if self.half_floor is not None:
            base = replace(self, atol=self.atol - HALF_FACTOR * self.half_floor, half_floor=None).describe()
            return f"{base} + {HALF_FACTOR:g}x the float16-weight floor {self.half_floor:.3g}"
        if self.precision == EXACT:
            return "exact equality"
        if self.quantized:
            return f"{QUANTIZED_FACTOR:g}x the quantized floor {self.floor:.3g}"
        if self.floor is not None:
            return f"{FLOOR_FACTOR:g}x the float32 floor {self.floor:.3g}"
        own = f" ({PRECISION_ULPS:g} ulps of {self.precision})" if self.precision else ""
        return f"atol={self.atol:.3g} + rtol={self.rtol:.3g}*|ref|{own}"


def float_eps(dtype: np.dtype) -> float | None:
    """The spacing of the dtype's values just above 1 (float, complex, bfloat16, float8 ...);
    None for integer, boolean, string and other exact dtypes."""
    if dtype.kind in "biuUSO":
        return None
    try:
        return float(ml_dtypes.finfo(dtype).eps)
    except (ValueError, TypeError):  # ml_dtypes' integers (int4 ...) and other non-float dtypes
        return None


def arrays_in(value: Any) -> Iterator[np.ndarray]:
    """The arrays at the leaves of an output: the output itself, or what a sequence, map or
    optional (list, dict, None) holds, Python scalars as 0-d arrays."""
    value = unwrapped(value)
    if value is None:
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from arrays_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from arrays_in(item)
    else:
        yield np.asarray(value)


def unwrapped(value: Any) -> Any:
    """`value`, or the Python value inside an object array that holds more than text: np.asarray
    over an ONNX sequence of maps (a list of dicts) or an empty optional (None) wraps it so."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        if not all(isinstance(item, str | bytes) for item in value.flat):
            return value.tolist()
    return value


def file_bound(expected: Any, tolerance: Tolerance, reference: ReferenceKind) -> Bound:
    """The bound of one expected output of an ONNX file from outside: exact where every leaf is an
    integer, boolean or string; else the static tolerance, widened to PRECISION_ULPS of the
    narrowest float dtype among its leaves (relative, and absolute at the output's largest
    magnitude, so exact zeros in it get an absolute floor rather than a relative one of 0)."""
    arrays = list(arrays_in(expected))
    floats = [(eps, a) for a in arrays if (eps := float_eps(a.dtype)) is not None]
    if arrays and not floats:
        return Bound(0.0, 0.0, reference=reference, precision=EXACT)
    static = Bound.static(tolerance, reference)
    if not floats:  # an empty optional or sequence: nothing to widen
        return static
    eps, narrowest = max(floats, key=lambda pair: pair[0])
    scale = max((_magnitude(a) for _, a in floats), default=0.0) or 1.0
    atol, rtol = PRECISION_ULPS * eps * scale, PRECISION_ULPS * eps
    if atol <= tolerance.atol and rtol <= tolerance.rtol:
        return static  # float32 and float64 at ordinary scales: the static rule is the looser
    return Bound(
        max(atol, tolerance.atol), max(rtol, tolerance.rtol), reference=reference, precision=str(narrowest.dtype)
    )


def _magnitude(array: np.ndarray) -> float:
    """The largest finite magnitude in `array` (0 when it has none)."""
    wide = np.abs(array.astype(np.complex128 if array.dtype.kind == "c" else np.float64))
    finite = wide[np.isfinite(wide)]
    return float(finite.max()) if finite.size else 0.0


def file_bounds(
    expected: Sequence[Any], tolerance: Tolerance, reference: ReferenceKind
) -> tuple[tuple[Bound, ...], str]:
    """One bound per expected output of an ONNX file from outside, and the rule they follow, as a row
    shows it: FILE_RULE, then what the outputs' dtypes and the reference's kind add to it."""
    bounds = tuple(file_bound(value, tolerance, reference) for value in expected)
    widened = sorted({b.precision for b in bounds if b.precision not in ("", EXACT)})
    notes = [FILE_RULE]
    if widened:
        notes.append(
            f"{', '.join(widened)} at {'its' if len(widened) == 1 else 'their'} own precision ({PRECISION_ULPS:g} ulps)"
        )
    if any(b.precision == EXACT for b in bounds):
        notes.append("integers, booleans and strings exact")
    notes.append(f"NaN/Inf matched in place ({reference.value})")
    return bounds, "; ".join(notes)


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
    if all(f is None for f in floors):
        return static, "static (the float64 run's outputs do not line up with float32's)"
    rule = f"calibrated ({FLOOR_FACTOR:g}x fp32 floor)"
    unaligned = [str(index) for index, f in enumerate(floors) if f is None]
    if unaligned:  # a detector's boxes: float64 kept another number of them; its dense outputs still have floors
        rule += f"; static for output {', '.join(unaligned)} (the float64 run's shape differs)"
    bounds = tuple(Bound.static(tolerance) if f is None else Bound.calibrated(f) for f in floors)
    return bounds, rule


def quantized_bounds(
    floors: Sequence[float] | None, tolerance: Tolerance, why_static: str
) -> tuple[tuple[Bound, ...], str] | None:
    """Bounds of a quantized model's outputs: QUANTIZED_FACTOR x each output's quantized floor (its
    change under half a step of input rounding), the static tolerance for an output with none (0:
    an integer output); None for a model that is not quantized."""
    if floors is None:
        return None
    bounds = tuple(Bound.quantized_floor(f) if f > 0 else Bound.static(tolerance) for f in floors)
    return bounds, (
        f"calibrated from quantization ({QUANTIZED_FACTOR:g}x the output's change under half a step of "
        f"input rounding; {why_static})"
    )
