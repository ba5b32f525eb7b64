"""Compare candidate outputs with reference outputs. Sees only arrays, never runners.

Rules, in order, for each output: the count and names must match; shape and
dtype must match; a non-finite reference fails (nothing can be said to agree
with NaN); a non-finite candidate value where the reference is finite fails;
then every element must satisfy |c - r| <= atol + rtol * |r|, with atol and rtol from the
output's Bound (static, or calibrated from the model's float32 floor: suite/judge/floor.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from suite.judge.floor import Bound
from zoo.spec import Task, Tolerance


@dataclass(frozen=True)
class OutputComparison:
    """Figures for one output; `problem` says why it failed (None when it passed)."""

    name: str
    max_abs_err: float
    max_rel_err: float
    mismatch_frac: float
    problem: str | None = None
    floor_ratio: float | None = None  # max abs err / the output's float32 floor (calibrated bounds only)

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Comparison:
    """All outputs of one run against the reference."""

    outputs: tuple[OutputComparison, ...]
    top1_agreement: float | None = None
    problem: str | None = None  # a structural problem (count, names) before any output

    @property
    def ok(self) -> bool:
        return self.problem is None and all(o.ok for o in self.outputs)

    @property
    def message(self) -> str:
        """One line naming the first failure, or "" when everything matched."""
        if self.problem:
            return self.problem
        for out in self.outputs:
            if out.problem:
                return f"output {out.name!r}: {out.problem}"
        return ""

    def worst(self, field: str) -> float:
        """The largest value of a figure across outputs (NaN when there are none)."""
        values = [getattr(o, field) for o in self.outputs if getattr(o, field) is not None]
        return float(max(values)) if values else float("nan")


def compare_outputs(
    reference: Sequence[np.ndarray],
    candidate: Sequence[np.ndarray],
    *,
    expected_names: Sequence[str],
    candidate_names: Sequence[str],
    tolerance: Tolerance | Sequence[Bound],
    task: Task | None = None,
) -> Comparison:
    """Compare `candidate` (e.g. ONNX Runtime outputs) with `reference` (eager outputs).

    `tolerance` is one rule for every output, or one Bound per output.
    """
    if len(candidate) != len(reference):
        return Comparison(
            outputs=(),
            problem=f"output count differs: expected {len(reference)} ({', '.join(expected_names)}), "
            f"got {len(candidate)} ({', '.join(candidate_names)})",
        )
    if list(candidate_names) != list(expected_names):
        return Comparison(
            outputs=(),
            problem=f"output names differ: expected {list(expected_names)}, got {list(candidate_names)}",
        )
    bounds = [Bound.static(tolerance)] * len(reference) if isinstance(tolerance, Tolerance) else list(tolerance)
    outputs = tuple(
        compare_array(name, ref, cand, bound)
        for name, ref, cand, bound in zip(expected_names, reference, candidate, bounds, strict=True)
    )
    top1 = None
    if task == Task.CLASSIFICATION and reference and outputs[0].ok:
        top1 = top1_agreement(reference[0], candidate[0])
    return Comparison(outputs=outputs, top1_agreement=top1)


def compare_array(name: str, ref: np.ndarray, cand: np.ndarray, tolerance: Tolerance | Bound) -> OutputComparison:
    """Element-wise comparison of one output."""
    bound = tolerance if isinstance(tolerance, Bound) else Bound.static(tolerance)
    nan = float("nan")
    if ref.shape != cand.shape:
        return OutputComparison(name, nan, nan, 1.0, f"shape differs: expected {ref.shape}, got {cand.shape}")
    if ref.dtype != cand.dtype:
        return OutputComparison(name, nan, nan, 1.0, f"dtype differs: expected {ref.dtype}, got {cand.dtype}")
    if ref.size == 0:
        return OutputComparison(name, 0.0, 0.0, 0.0)
    ref64 = ref.astype(np.float64)
    cand64 = cand.astype(np.float64)
    ref_bad = ~np.isfinite(ref64)
    cand_bad = ~np.isfinite(cand64)
    diff = np.abs(cand64 - ref64)
    finite = ~(ref_bad | cand_bad)
    max_abs = float(diff[finite].max()) if finite.any() else nan
    significant = finite & (np.abs(ref64) > bound.atol)
    max_rel = float((diff[significant] / np.abs(ref64[significant])).max()) if significant.any() else 0.0
    # NaN compares False, so non-finite elements count as mismatched here.
    close = diff <= bound.atol + bound.rtol * np.abs(ref64)
    mismatch_frac = float(1.0 - close.mean())
    ratio = _floor_ratio(max_abs, bound)
    if ref_bad.any():
        return OutputComparison(
            name,
            max_abs,
            max_rel,
            mismatch_frac,
            f"reference has {int(ref_bad.sum())} non-finite values (NaN/Inf) out of {ref.size}: "
            "the eager model's output cannot be compared",
        )
    if cand_bad.any():
        return OutputComparison(
            name,
            max_abs,
            max_rel,
            mismatch_frac,
            f"candidate has {int(cand_bad.sum())} non-finite values (NaN/Inf) where the reference is finite",
        )
    if mismatch_frac > 0:
        times_floor = f", {ratio:.3g}x the floor" if ratio is not None else ""
        return OutputComparison(
            name,
            max_abs,
            max_rel,
            mismatch_frac,
            f"{mismatch_frac:.2%} of {ref.size} elements outside {bound.describe()} "
            f"(max abs err {max_abs:.3g}{times_floor})",
            ratio,
        )
    return OutputComparison(name, max_abs, max_rel, 0.0, floor_ratio=ratio)


def _floor_ratio(max_abs: float, bound: Bound) -> float | None:
    if bound.floor is None or not np.isfinite(max_abs):
        return None
    if bound.floor == 0:
        return 0.0 if max_abs == 0 else float("inf")
    return max_abs / bound.floor


def top1_agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Share of rows whose argmax over the last axis agrees."""
    if reference.ndim == 0 or reference.shape[-1] == 0:
        return float("nan")
    ref_top = reference.reshape(-1, reference.shape[-1]).argmax(axis=-1)
    cand_top = candidate.reshape(-1, candidate.shape[-1]).argmax(axis=-1)
    return float((ref_top == cand_top).mean())
