"""One array output against its reference: the element-wise rules of suite.judge.compare.

Shape and dtype first (strings may be str or bytes); integers, booleans and strings equal with no
tolerance; floats and complex values within the output's Bound, with NaN and Inf judged by the
kind of reference (suite.judge.floor.ReferenceKind).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from suite.judge.floor import Bound, float_eps
from zoo.spec import Tolerance


@dataclass(frozen=True)
class OutputComparison:
    """Figures for one output; `problem` says why it failed (None when it passed).

    The errors are None for outputs with no numeric error (strings); for a sequence or map they
    are the worst over its leaves, and `path` says where in it the problem is ("[3]['setosa']").
    """

    name: str
    max_abs_err: float | None
    max_rel_err: float | None
    mismatch_frac: float
    problem: str | None = None
    floor_ratio: float | None = None  # max abs err / the output's floor (float32, or float16-weight: Bound)
    path: str = ""
    # Elements compared (an array's size; a sequence's or map's leaves'): 0 when shapes differ,
    # and a pass on 0 elements says nothing (suite.judge.vacuity).
    elements: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def value_family(dtype: np.dtype) -> str:
    """How an array's values are compared: "float" and "complex" within a bound, "string" and
    "exact" (integers, booleans, anything else) for equality."""
    if dtype.kind in "USO":
        return "string"
    if float_eps(dtype) is None:
        return "exact"
    return "complex" if dtype.kind == "c" else "float"


def compare_array(name: str, ref: np.ndarray, cand: np.ndarray, tolerance: Tolerance | Bound) -> OutputComparison:
    """Element-wise comparison of one array output."""
    bound = tolerance if isinstance(tolerance, Bound) else Bound.static(tolerance)
    nan = float("nan")
    family = value_family(ref.dtype)
    if ref.shape != cand.shape:
        return OutputComparison(name, nan, nan, 1.0, f"shape differs: expected {ref.shape}, got {cand.shape}")
    # str and bytes arrays (and object arrays of either) hold the same text.
    if ref.dtype != cand.dtype and not (family == "string" == value_family(cand.dtype)):
        return OutputComparison(name, nan, nan, 1.0, f"dtype differs: expected {ref.dtype}, got {cand.dtype}")
    if ref.size == 0:
        return OutputComparison(name, 0.0, 0.0, 0.0)
    if family in ("string", "exact"):
        return _compare_exact(name, ref, cand, family)
    return _compare_close(name, ref, cand, bound)


def _compare_exact(name: str, ref: np.ndarray, cand: np.ndarray, family: str) -> OutputComparison:
    """Integers, booleans and strings: every element equal, no tolerance."""
    r, c = (_text(ref), _text(cand)) if family == "string" else (ref, cand)
    wrong = ~np.asarray(r == c, dtype=bool).reshape(ref.shape)
    max_abs, max_rel = _integer_errors(ref, cand) if family == "exact" else (None, None)
    if not wrong.any():
        return OutputComparison(name, max_abs, max_rel, 0.0)
    first = _first(wrong)
    what = "strings" if family == "string" else str(ref.dtype)  # ORT hands strings over as dtype object
    return OutputComparison(
        name,
        max_abs,
        max_rel,
        float(wrong.mean()),
        f"{int(wrong.sum())} of {ref.size} elements differ (exact comparison for {what}): "
        f"first at {_index(first)}: expected {_shown(r[first])}, got {_shown(c[first])}",
    )


def _integer_errors(ref: np.ndarray, cand: np.ndarray) -> tuple[float | None, float | None]:
    """Max abs and rel error of integer or boolean arrays: an off-by-one label is still a number
    worth a column. (None, None) for a dtype with no numeric value (a raw void)."""
    try:
        r64, c64 = ref.astype(np.float64), cand.astype(np.float64)
    except (TypeError, ValueError):
        return None, None
    diff = np.abs(c64 - r64)
    nonzero = r64 != 0
    max_rel = float((diff[nonzero] / np.abs(r64[nonzero])).max()) if nonzero.any() else 0.0
    return float(diff.max()), max_rel


def _text(array: np.ndarray) -> np.ndarray:
    """A string array as an object array of str (stored tensors may hold bytes, ORT gives str)."""
    items = [item.decode("utf-8", "surrogateescape") if isinstance(item, bytes) else item for item in array.flat]
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(array.shape)


def _compare_close(name: str, ref: np.ndarray, cand: np.ndarray, bound: Bound) -> OutputComparison:
    """Floats (numpy's and ml_dtypes') and complex values within the bound, NaN/Inf by the bound's reference kind."""
    nan = float("nan")
    wide = np.complex128 if ref.dtype.kind == "c" else np.float64
    r, c = ref.astype(wide), cand.astype(wide)
    ref_bad, cand_bad = ~np.isfinite(r), ~np.isfinite(c)
    finite = ~(ref_bad | cand_bad)
    with np.errstate(invalid="ignore"):  # inf - inf: those elements are judged by the NaN/Inf rule
        diff = np.abs(c - r)
    max_abs = float(diff[finite].max()) if finite.any() else nan
    significant = finite & (np.abs(r) > bound.atol)
    max_rel = float((diff[significant] / np.abs(r[significant])).max()) if significant.any() else 0.0
    close = finite & (diff <= bound.atol + bound.rtol * np.abs(r))
    expected = bound.reference.non_finite_expected
    matched = ref_bad & cand_bad & _same_non_finite(r, c) if expected else np.zeros_like(ref_bad)
    mismatch_frac = float(1.0 - (close | matched).mean())
    ratio = _floor_ratio(max_abs, bound)
    figures = (name, max_abs, max_rel, mismatch_frac)
    if ref_bad.any() and not expected:
        return OutputComparison(
            *figures,
            f"reference has {int(ref_bad.sum())} non-finite values (NaN/Inf) out of {ref.size}: "
            "the eager model's output cannot be compared",
        )
    stray = cand_bad & ~ref_bad
    if stray.any():
        first = _first(stray)
        return OutputComparison(
            *figures,
            f"candidate has {int(stray.sum())} non-finite values (NaN/Inf) where the reference is finite: "
            f"first at {_index(first)}: expected {_shown(r[first])}, got {_shown(c[first])}",
        )
    missed = ref_bad & ~matched
    if missed.any():
        first = _first(missed)
        return OutputComparison(
            *figures,
            f"{int(missed.sum())} of {int(ref_bad.sum())} expected NaN/Inf values not matched in place "
            f"({bound.reference.value}): first at {_index(first)}: expected {_shown(r[first])}, got {_shown(c[first])}",
        )
    if mismatch_frac > 0:
        times_floor = f", {ratio:.3g}x the floor" if ratio is not None else ""
        return OutputComparison(
            *figures,
            f"{mismatch_frac:.2%} of {ref.size} elements outside {bound.describe()} "
            f"(max abs err {max_abs:.3g}{times_floor})",
            ratio,
        )
    return OutputComparison(name, max_abs, max_rel, 0.0, floor_ratio=ratio)


def _same_non_finite(r: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Where r and c hold the same value, NaN counted equal to NaN (complex: part by part)."""
    if r.dtype.kind == "c":
        return _same_non_finite(r.real, c.real) & _same_non_finite(r.imag, c.imag)
    return (np.isnan(r) & np.isnan(c)) | (r == c)


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _index(index: tuple[int, ...]) -> str:
    return f"[{', '.join(str(i) for i in index)}]"


def _shown(value: Any) -> str:
    """An element for a message: 'abc', 3, nan, (1+2j), not np.float64(nan)."""
    item = value.item() if isinstance(value, np.generic) else value
    return repr(item) if isinstance(item, str | bytes) else str(item)


def _floor_ratio(max_abs: float, bound: Bound) -> float | None:
    """max abs err over the floor that bounds it: the float16-weight floor where the weights were
    rounded so (and it is not 0), else the float32 one."""
    floor = bound.half_floor or bound.floor
    if floor is None or not np.isfinite(max_abs):
        return None
    if floor == 0:
        return 0.0 if max_abs == 0 else float("inf")
    return max_abs / floor
