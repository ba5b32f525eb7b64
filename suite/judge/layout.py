"""Axis orders between an ONNX model and a converted model that reads and writes channels-last.

onnx2tf turns every input of rank 3 to 5 into NWC / NHWC / NDHWC and leaves outputs it computed
channels-last so. The suite compares in the ONNX model's own layout: it transposes what it feeds,
transposes back what comes out, and says on the row which inputs and outputs it moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


def channels_last(rank: int) -> tuple[int, ...]:
    """The axes that read a channels-first array (N, C, ...) as channels-last (N, ..., C)."""
    return (0, *range(2, rank), 1) if rank >= 3 else tuple(range(rank))


def channels_first(rank: int) -> tuple[int, ...]:
    """The inverse of channels_last: (N, ..., C) back to (N, C, ...)."""
    return (0, rank - 1, *range(1, rank - 1)) if rank >= 3 else tuple(range(rank))


@dataclass(frozen=True)
class InputLayout:
    name: str  # the ONNX input
    fed_as: str  # the converted model's name for it
    perm: tuple[int, ...]  # axes of the ONNX array the converted model reads (identity: as is)


@dataclass(frozen=True)
class OutputLayout:
    name: str  # the ONNX output
    produced_as: str  # the converted model's name for it
    channels_last: bool  # what the converter says of it (its rank decides the axes)


@dataclass(frozen=True)
class Layout:
    """How to feed a converted model ONNX-layout inputs and read its outputs in ONNX layout."""

    inputs: tuple[InputLayout, ...]
    outputs: tuple[OutputLayout, ...]

    def feeds(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """ONNX-layout inputs by ONNX name -> the converted model's feeds, transposed where it reads them so."""
        by_name = {i.name: i for i in self.inputs}
        feeds = {}
        for name, value in inputs.items():
            entry = by_name.get(name)
            if entry is None:
                feeds[name] = value
            else:
                feeds[entry.fed_as] = (
                    np.ascontiguousarray(np.transpose(value, entry.perm)) if _moves(entry.perm) else value
                )
        return feeds

    def outputs_in_onnx_layout(
        self, produced: Mapping[str, np.ndarray], expected_shapes: Sequence[tuple[int, ...] | None]
    ) -> tuple[list[str], list[np.ndarray], list[str]]:
        """The converted model's outputs in ONNX output order and layout.

        An output the converter calls channels-last is moved back to channels-first; where its shape
        then differs from the expected one and the output as produced has that shape, it is taken as
        produced (and the other way round), so a wrong flag cannot fail a right output.

        Returns:
            (ONNX output names, arrays, one note per output moved: "y: transposed (0, 3, 1, 2)").
        """
        names, arrays, moved = [], [], []
        for index, entry in enumerate(self.outputs):
            value = np.asarray(_produced(produced, entry, index))
            expected = expected_shapes[index] if index < len(expected_shapes) else None
            back = channels_first(value.ndim)
            options = [back, tuple(range(value.ndim))] if entry.channels_last else [tuple(range(value.ndim)), back]
            perm = options[0]
            if expected is not None and _permuted_shape(value, perm) != tuple(expected):
                perm = next((p for p in options if _permuted_shape(value, p) == tuple(expected)), perm)
            if _moves(perm):
                value = np.ascontiguousarray(np.transpose(value, perm))
                moved.append(f"{entry.name}: transposed {tuple(perm)}")
            names.append(entry.name)
            arrays.append(value)
        return names, arrays, moved

    def describe_inputs(self) -> str:
        """Which inputs were fed transposed, and how, for the row: "x: transposed (0, 2, 3, 1)" (the
        axes, not layout names: a Keras export's NHWC input is moved the same way as an NCHW one)."""
        return "; ".join(f"{i.name}: transposed {tuple(i.perm)}" for i in self.inputs if _moves(i.perm))


def _produced(produced: Mapping[str, np.ndarray], entry: OutputLayout, index: int) -> np.ndarray:
    """The output under the converter's name, its ONNX name, or else at its position."""
    for key in (entry.produced_as, entry.name, entry.produced_as.replace(":", "__")):
        if key in produced:
            return produced[key]
    values = list(produced.values())
    if index < len(values):
        return values[index]
    raise KeyError(f"the converted model gives no output {entry.produced_as!r}; it gives {', '.join(produced)}")


def _moves(perm: Sequence[int]) -> bool:
    return tuple(perm) != tuple(range(len(perm)))


def _permuted_shape(value: np.ndarray, perm: Sequence[int]) -> tuple[int, ...]:
    return tuple(value.shape[axis] for axis in perm)
