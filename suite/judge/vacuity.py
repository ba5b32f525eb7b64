"""Whether a pass said anything: outputs that cannot tell a right model from a wrong one.

A comparison of empty arrays passes whatever the candidate computed; so does one of outputs that
do not depend on the input (every element equal, or the same values for two different input
draws): a detection model with random weights that keeps no box, a quantized model whose
collapsed quantization parameters give one constant. Such a pass is not a verdict: the case is a
`skip` "not judged: <why>" (suite.run.records), counted apart in the report.

An output counts as informative unless it is an array that is empty on every draw, or it is a
float output of 2 or more elements that is constant on every draw, or one whose bound covers its
whole range on every draw (a constant would pass: an ill-conditioned model's floor as wide as its
outputs), or a float output that is bitwise the same on two draws whose inputs differ. Integer,
boolean and string outputs that are not empty are always informative: equal labels are a real
check, and a handful of labels may agree by chance; so are an ONNX file's sequences, maps and
optionals, whose structure (length, keys, empty or not) is compared.

A case is not judged only when no output is informative. For an ONNX file from outside only the
empty rule applies: its expected outputs are its author's answer, constant or not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from suite.judge.floor import Bound, float_eps


@dataclass(frozen=True)
class Draw:
    """One input draw at the export's own size and the reference outputs on it."""

    inputs: Mapping[str, np.ndarray]
    outputs: Sequence[Any]  # arrays; an ONNX file's sequences, maps and optionals as list, dict or None
    bounds: Sequence[Bound] = ()  # the bound each output is judged by (none: the bound rule is not applied)


def element_count(value: Any) -> int:
    """Elements in an output: an array's size, the sum over a sequence's or map's leaves."""
    if value is None:
        return 0
    if isinstance(value, Mapping):
        return sum(element_count(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(element_count(v) for v in value)
    return int(np.asarray(value).size)


def not_judged_reason(names: Sequence[str], draws: Sequence[Draw], eager: bool = True) -> str | None:
    """Why a pass on these draws says nothing about the model, or None when some output is informative.

    eager=False: the outputs are an ONNX file's expected ones, chosen by its author (ReduceMax over
    an empty axis is -inf everywhere on purpose): only the empty rule applies.
    """
    if not draws:
        return None
    reasons = []
    for index, name in enumerate(names):
        values = [draw.outputs[index] for draw in draws]
        reason = _uninformative(values, draws, eager, index)
        if reason is None:
            return None
        reasons.append(f"{name} {reason}")
    if not reasons:
        return None
    if all(sum(element_count(d.outputs[i]) for d in draws) == 0 for i in range(len(names))):
        return f"compared 0 elements: every output is empty ({', '.join(reasons)})"
    return f"no output can tell a right result from a wrong one ({', '.join(reasons)})"


def _uninformative(values: Sequence[Any], draws: Sequence[Draw], eager: bool, index: int) -> str | None:
    """Why one output, over the draws, cannot tell a right candidate from a wrong one (None: it can)."""
    arrays = [v for v in values if isinstance(v, np.ndarray)]
    if len(arrays) != len(values):
        return None  # a sequence, map or optional: its structure (length, keys, empty or not) is checked
    if all(a.size == 0 for a in arrays):
        return f"empty {arrays[0].shape}"
    if not eager or not _is_float(arrays[0]):
        return None  # integers, booleans, strings: a non-empty one is a real (exact) check
    if all(a.size >= 2 and _constant(a) for a in arrays):
        return f"constant (every element {arrays[0].flat[0]:.6g})"
    bounded = [(a, d.bounds[index]) for a, d in zip(arrays, draws, strict=True) if len(d.bounds) > index]
    if len(bounded) == len(arrays) and all(_admits_a_constant(a, bound) for a, bound in bounded):
        bound = draws[0].bounds[index]
        return f"inside its bound wherever it lies ({bound.describe()} covers its whole range: a constant would pass)"
    for first in range(len(draws)):
        for second in range(first + 1, len(draws)):
            same_output = np.array_equal(arrays[first], arrays[second], equal_nan=True)
            if same_output and not _same_inputs(draws[first], draws[second]):
                return f"the same on two input draws that differ (draws {first} and {second})"
    return None


def _admits_a_constant(array: np.ndarray, bound: Bound) -> bool:
    """Whether the output's midrange, everywhere, would pass the bound: it tells no output in range from another."""
    values = np.asarray(array, np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return False
    middle = (values.max() + values.min()) / 2
    return bool(np.all(np.abs(values - middle) <= bound.atol + bound.rtol * np.abs(values)))


def _is_float(array: np.ndarray) -> bool:
    return array.dtype.kind not in "USO" and float_eps(array.dtype) is not None


def _constant(array: np.ndarray) -> bool:
    flat = array.ravel()
    return bool(np.all((flat == flat[0]) | (np.isnan(flat) & np.isnan(flat[0]))))


def _same_inputs(first: Draw, second: Draw) -> bool:
    return first.inputs.keys() == second.inputs.keys() and all(
        np.array_equal(first.inputs[k], second.inputs[k], equal_nan=True) for k in first.inputs
    )
