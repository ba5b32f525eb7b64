"""Compare candidate outputs with reference outputs. Sees only values, never runners.

Rules, in order, for each output: the count and names must match. An output that is a
sequence, map or optional (list, dict, None; nested) must have the reference's structure
(lengths, keys, empty or not), and each array at its leaves is judged as an output is. For
an array: shape and dtype must match (strings may be str or bytes). Integers, booleans and
strings must be equal, with no tolerance. Floats and complex values: a NaN or Inf in the
reference fails when it is the eager model's (nothing can be said to agree with a broken
model's NaN), but in an ONNX file's expected outputs (stored, or ONNX Runtime CPU's) it is
the answer: NaN matches NaN and +/-Inf the same sign, in place, as numpy's
assert_allclose(equal_nan=True) has it; a non-finite candidate value where the reference is
finite fails; then every element must satisfy |c - r| <= atol + rtol * |r| (|.| the complex
modulus), with atol and rtol from the output's Bound (static, calibrated from the model's
float32 floor, or widened to a file output's own dtype: suite/judge/floor.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from suite.judge.arrays import OutputComparison, compare_array, value_family
from suite.judge.floor import Bound, float_eps, unwrapped
from zoo.spec import Task, Tolerance

# An output: an array, or for ONNX sequences, maps and optionals a list, dict or None (nested),
# with arrays or Python scalars at the leaves.
Value = Any
_SCALARS = (bool, int, float, complex, str, bytes)


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
                return f"output {out.name!r}{out.path}: {out.problem}"
        return ""

    @property
    def compared(self) -> dict[str, int]:
        """Elements compared per output, by name."""
        return {o.name: o.elements for o in self.outputs}

    def worst(self, field: str) -> float:
        """The largest value of a figure across outputs (NaN when there are none)."""
        value = _largest(getattr(o, field) for o in self.outputs)
        return float("nan") if value is None else value


def _largest(values: Iterable[float | None]) -> float | None:
    """The largest of `values`, None and NaN left out (max() over a NaN depends on the order);
    NaN when all were NaN, None when there were none."""
    present = [v for v in values if v is not None]
    numbers = [v for v in present if not math.isnan(v)]
    if numbers:
        return float(max(numbers))
    return float("nan") if present else None


def compare_outputs(
    reference: Sequence[Value],
    candidate: Sequence[Value],
    *,
    expected_names: Sequence[str],
    candidate_names: Sequence[str],
    tolerance: Tolerance | Sequence[Bound],
    task: Task | None = None,
) -> Comparison:
    """Compare `candidate` (e.g. ONNX Runtime outputs) with `reference` (eager or expected outputs).

    `tolerance` is one rule for every output (eager NaN rule), or one Bound per output (which
    carries what the reference is: Bound.reference).
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
        compare_value(name, ref, cand, bound)
        for name, ref, cand, bound in zip(expected_names, reference, candidate, bounds, strict=True)
    )
    top1 = None
    if task == Task.CLASSIFICATION and reference and outputs[0].ok and _scores(reference[0]):
        top1 = top1_agreement(reference[0], candidate[0])
    return Comparison(outputs=outputs, top1_agreement=top1)


def _scores(value: Value) -> bool:
    """Whether an output can have a top-1: a real float array (not labels, strings or a map)."""
    return isinstance(value, np.ndarray) and value.dtype.kind != "c" and float_eps(value.dtype) is not None


def compare_value(name: str, ref: Value, cand: Value, tolerance: Tolerance | Bound) -> OutputComparison:
    """One output of any kind: an array (compare_array), or a sequence, map or optional, by structure."""
    bound = tolerance if isinstance(tolerance, Bound) else Bound.static(tolerance)
    ref, cand = unwrapped(ref), unwrapped(cand)
    if isinstance(ref, np.ndarray) and isinstance(cand, np.ndarray):
        result = compare_array(name, ref, cand, bound)
        return replace(result, elements=int(ref.size) if ref.shape == cand.shape else 0)
    tally = _Tally()
    _compare_node(ref, cand, bound, "", tally)
    return tally.result(name)


@dataclass
class _Tally:
    """The leaves of a structured output as they are compared, and the first problem among them."""

    leaves: list[tuple[OutputComparison, int]] = field(default_factory=list)  # (figures, elements)
    problem: tuple[str, str] | None = None  # (path, problem)
    broken: bool = False  # a structure (length, keys, kind) differs: nothing lines up

    def leaf(self, path: str, result: OutputComparison, size: int) -> None:
        self.leaves.append((result, size))
        if result.problem and self.problem is None:
            self.problem = (path, result.problem)

    def structure(self, path: str, problem: str) -> None:
        self.broken = True
        if self.problem is None:
            self.problem = (path, problem)

    def result(self, name: str) -> OutputComparison:
        figures = [r for r, _ in self.leaves]
        total = sum(size for _, size in self.leaves)
        wrong = sum(r.mismatch_frac * size for r, size in self.leaves)
        mismatch = 1.0 if self.broken else (wrong / total if total else 0.0)
        path, problem = self.problem if self.problem else ("", None)
        return OutputComparison(
            name,
            _largest(r.max_abs_err for r in figures),
            _largest(r.max_rel_err for r in figures),
            mismatch,
            problem,
            _largest(r.floor_ratio for r in figures),
            path,
            total,
        )


def _compare_node(ref: Value, cand: Value, bound: Bound, path: str, tally: _Tally) -> None:
    """Walk `ref` and `cand` together, the structure first, then the leaves as arrays."""
    ref, cand = unwrapped(ref), unwrapped(cand)
    if ref is None or cand is None:
        if ref is not cand:
            tally.structure(path, f"expected {_kind_of(ref)}, got {_kind_of(cand)}")
        return
    if isinstance(ref, Mapping) or isinstance(cand, Mapping):
        _compare_maps(ref, cand, bound, path, tally)
    elif isinstance(ref, list | tuple) or isinstance(cand, list | tuple):
        _compare_sequences(ref, cand, bound, path, tally)
    else:
        _compare_leaf(ref, cand, bound, path, tally)


def _compare_maps(ref: Value, cand: Value, bound: Bound, path: str, tally: _Tally) -> None:
    if not (isinstance(ref, Mapping) and isinstance(cand, Mapping)):
        tally.structure(path, f"expected {_kind_of(ref)}, got {_kind_of(cand)}")
        return
    # Stored maps keep string keys as bytes and integer keys as numpy scalars; ORT gives str and int.
    ref_keys = {_plain(k): k for k in ref}
    cand_keys = {_plain(k): k for k in cand}
    missing = [k for k in ref_keys if k not in cand_keys]
    unexpected = [k for k in cand_keys if k not in ref_keys]
    if missing or unexpected:
        tally.structure(path, f"map keys differ: missing {_few(missing)}, unexpected {_few(unexpected)}")
        return
    for key, original in ref_keys.items():
        _compare_node(ref[original], cand[cand_keys[key]], bound, f"{path}[{key!r}]", tally)


def _compare_sequences(ref: Value, cand: Value, bound: Bound, path: str, tally: _Tally) -> None:
    if not (isinstance(ref, list | tuple) and isinstance(cand, list | tuple)):
        tally.structure(path, f"expected {_kind_of(ref)}, got {_kind_of(cand)}")
        return
    if len(ref) != len(cand):
        tally.structure(path, f"sequence length differs: expected {len(ref)}, got {len(cand)}")
        return
    for index, (r, c) in enumerate(zip(ref, cand, strict=True)):
        _compare_node(r, c, bound, f"{path}[{index}]", tally)


def _compare_leaf(ref: Value, cand: Value, bound: Bound, path: str, tally: _Tally) -> None:
    r, c = np.asarray(ref), np.asarray(cand)
    # A Python scalar (a ZipMap's probability, a map's value) has no dtype of its own to hold the
    # other side to: it takes the typed side's, within the same family.
    if isinstance(ref, _SCALARS) and not isinstance(cand, _SCALARS) and value_family(r.dtype) == value_family(c.dtype):
        r = r.astype(c.dtype)
    elif isinstance(cand, _SCALARS) and value_family(r.dtype) == value_family(c.dtype):
        c = c.astype(r.dtype)
    tally.leaf(path, compare_array("", r, c, bound), int(r.size))


def _kind_of(value: Value) -> str:
    """What a value is, in words, for a structure mismatch."""
    if value is None:
        return "an empty optional"
    if isinstance(value, Mapping):
        return f"a map of {len(value)} entries"
    if isinstance(value, list | tuple):
        return f"a sequence of {len(value)}"
    array = np.asarray(value)
    return f"a {array.dtype} tensor of shape {array.shape}"


def _plain(key: Any) -> Any:
    """A map key as Python has it: bytes decoded, numpy scalars as int/str."""
    if isinstance(key, np.generic):
        key = key.item()
    return key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key


def _few(keys: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(k) for k in keys[:limit])
    return f"[{shown}{', ...' if len(keys) > limit else ''}]"


def top1_agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Share of rows whose argmax over the last axis agrees."""
    if reference.ndim == 0 or reference.shape[-1] == 0:
        return float("nan")
    ref_top = reference.reshape(-1, reference.shape[-1]).argmax(axis=-1)
    cand_top = candidate.reshape(-1, candidate.shape[-1]).argmax(axis=-1)
    return float((ref_top == cand_top).mean())
