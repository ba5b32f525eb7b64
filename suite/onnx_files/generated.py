"""The inputs of an ONNX file from outside, read from its graph, and generated where it has no test data.

Numeric and bool tensors are left to the seeded generator every zoo model uses (make_inputs, from
their InputSpec). What that generator cannot make is made here, seeded by the draw: string tensors (a
few short ASCII strings), and small sequences, maps and optionals where their element types are
simple. Anything else gets a one-line reason, and so does a type ONNX Runtime's Python API cannot be
fed (bfloat16, float8, int4 ..., maps of other values than float): no numpy array or dict of it goes
into session.run.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from suite.onnx_files.safe_read import Limits
from suite.onnx_files.values import Value
from zoo.spec import InputSpec

UNSIZED = -1  # a dim the graph leaves open, taken from the test data
# Marks the reason of an input that ONNX Runtime's Python API cannot take: its row is `unsupported`.
ORT_PYTHON_UNSUPPORTED = "unsupported by ONNX Runtime's Python API"
SEQUENCE_LENGTH = 2  # elements of a generated sequence
MAP_ENTRIES = 3  # entries of a generated map
_SEED = 20_240_024  # generated feeds: the same in every process, so every hop sees the same inputs
_LETTERS = np.array(list(string.ascii_lowercase + string.digits))


@dataclass(frozen=True)
class Plan:
    """How to make one generated value (hashable: it lives in a ModelSpec)."""

    kind: str  # "tensor", "sequence", "map" or "optional"
    dtype: str = "float32"  # a tensor's numpy dtype ("object": strings)
    shape: tuple[int, ...] = ()
    key: str = ""  # a map's keys: "str" or "int"
    element: Plan | None = None  # a sequence's or optional's element, a map's value

    @property
    def plain(self) -> bool:
        """A numeric or bool tensor, which make_inputs generates from its InputSpec."""
        return self.kind == "tensor" and self.dtype != "object"


@dataclass(frozen=True)
class GraphInputs:
    """The graph's fed inputs, the first reason they cannot be generated or fed ("" when they can),
    and the feeds to use where make_inputs cannot make them (None: make_inputs does)."""

    specs: tuple[InputSpec, ...]
    problem: str = ""
    feeds: GeneratedFeeds | None = None


@dataclass(frozen=True)
class GeneratedFeeds:
    """make_inputs for a file without test data whose inputs are not all numeric tensors:
    (sizes, draw) -> inputs, the same for the same draw in every process."""

    plans: tuple[tuple[str, Plan], ...]

    def __call__(self, _sizes: Mapping[str, int], draw: int) -> dict[str, Value]:
        rng = np.random.default_rng([_SEED, draw])
        return {name: make_value(plan, rng) for name, plan in self.plans}


def graph_inputs(model: Any, dims: Mapping[str, int], limits: Limits, generated: bool) -> GraphInputs:
    """The graph inputs fed at run time (initializers listed as inputs are left to their defaults).
    Where the inputs must be generated, the first reason one cannot be; with test data, only a type
    ONNX Runtime's Python API cannot take is one."""
    initializers = {init.name for init in model.graph.initializer}
    specs, plans, problems = [], [], []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        planner = _Planner(value.name, dims, limits)
        plan = planner.plan(value.type)
        specs.append(InputSpec(value.name, plan.shape, plan.dtype if plan.kind == "tensor" else "object", 0, 2))
        plans.append((value.name, plan))
        problems.extend(planner.problems)
    # With test data nothing need be generated, but a type ORT cannot be fed still cannot run.
    reasons = problems if generated else [p for p in problems if ORT_PYTHON_UNSUPPORTED in p]
    problem = reasons[0] if reasons else ""
    special = generated and not problem and not all(plan.plain for _, plan in plans)
    return GraphInputs(tuple(specs), problem, GeneratedFeeds(tuple(plans)) if special else None)


@dataclass
class _Planner:
    """Reads one input's TypeProto into a Plan, noting every reason it cannot be generated or fed."""

    name: str
    dims: Mapping[str, int]
    limits: Limits
    problems: list[str] = field(default_factory=list)

    def note(self, reason: str) -> None:
        self.problems.append(f"input {self.name!r} {reason}")

    def plan(self, declared: Any, copies: int = 1, within: str = "") -> Plan:
        kind = declared.WhichOneof("value")
        if kind in (None, "tensor_type"):
            return self.tensor(declared.tensor_type, copies, within)
        if kind == "sequence_type":
            return self.sequence(declared.sequence_type.elem_type, copies)
        if kind == "map_type":
            return self.map(declared.map_type, within)
        if kind == "optional_type":
            return Plan("optional", element=self.plan(declared.optional_type.elem_type, copies, within))
        self.note(f"is a {_kind_name(kind)}{within}, which cannot be generated; give test data")
        return Plan("tensor")

    def sequence(self, element: Any, copies: int) -> Plan:
        kind = element.WhichOneof("value")
        if kind != "tensor_type":  # ORT takes sequences of tensors only as inputs
            self.note(f"is a sequence of {_kind_name(kind)}s, which cannot be generated; give test data")
            return Plan("sequence", element=Plan("tensor"))
        if not element.tensor_type.HasField("shape"):
            self.note("is a sequence of tensors of unknown rank, which cannot be generated; give test data")
            return Plan("sequence", element=Plan("tensor"))
        within = " (its sequence's tensors)"
        return Plan("sequence", element=self.tensor(element.tensor_type, copies * SEQUENCE_LENGTH, within))

    def map(self, declared: Any, within: str) -> Plan:
        from onnx import TensorProto

        key = "str" if declared.key_type == TensorProto.STRING else "int"
        value = declared.value_type
        if value.WhichOneof("value") != "tensor_type" or any(True for _ in value.tensor_type.shape.dim):
            self.note(f"is a map{within} whose values are not single numbers, which cannot be generated")
            return Plan("map", key=key, element=Plan("tensor"))
        # Measured on ORT 1.32: session.run makes every dict a map of int64 or string keys to float,
        # whatever its values are; a graph declaring another map type cannot be fed through it.
        values = value.tensor_type.elem_type
        if declared.key_type not in (TensorProto.INT64, TensorProto.STRING) or values != TensorProto.FLOAT:
            types = f"{_type_name(declared.key_type)} to {_type_name(values)}"
            self.note(f"is a map of {types}{within}, {ORT_PYTHON_UNSUPPORTED} (it takes int64 or string to float only)")
        return Plan("map", key=key, element=Plan("tensor", "float32"))

    def tensor(self, tensor_type: Any, copies: int, within: str) -> Plan:
        shape = tuple(self.dim(axis, dim, within) for axis, dim in enumerate(tensor_type.shape.dim))
        dtype = _np_dtype(tensor_type.elem_type)
        if dtype is not None and dtype.type.__module__ == "ml_dtypes":
            named = _type_name(tensor_type.elem_type)
            self.note(f"is {named}{within}, {ORT_PYTHON_UNSUPPORTED} (it takes no numpy array of {named})")
        elif dtype is None or dtype.kind not in "biufO":
            self.note(f"has element type {tensor_type.elem_type}{within}, which cannot be generated")
        elif UNSIZED not in shape and int(np.prod(shape, dtype=np.float64)) * dtype.itemsize * copies > (
            self.limits.max_tensor_bytes
        ):
            self.note(f"declares shape {list(shape)}{within}, more than the tensor size cap")
        return Plan("tensor", dtype.name if dtype is not None else "float32", shape)

    def dim(self, axis: int, dim: Any, within: str) -> int:
        if dim.HasField("dim_value") and dim.dim_value >= 0:
            return int(dim.dim_value)
        if dim.HasField("dim_param") and dim.dim_param in self.dims:
            return self.dims[dim.dim_param]
        named = f"is named {dim.dim_param!r}" if dim.HasField("dim_param") else "has no size"
        hint = dim.dim_param or "NAME"
        self.note(f"dim {axis}{within} {named} and no size was given; give --zoo-onnx-dims {hint}=N")
        return UNSIZED


def make_value(plan: Plan, rng: np.random.Generator) -> Value:
    """A seeded value as `plan` describes it: what ONNX Runtime's Python API takes for it."""
    if plan.kind == "sequence":
        assert plan.element is not None
        return [make_value(plan.element, rng) for _ in range(SEQUENCE_LENGTH)]
    if plan.kind == "optional":
        assert plan.element is not None
        return make_value(plan.element, rng)  # present: an absent optional tests nothing of the graph
    if plan.kind == "map":
        assert plan.element is not None
        keys: list[Any] = (
            [str(k) for k in rng.choice(_LETTERS, MAP_ENTRIES, replace=False)]
            if plan.key == "str"
            else [int(k) for k in rng.choice(16, MAP_ENTRIES, replace=False)]
        )
        scalar = Plan("tensor", plan.element.dtype, ())
        return {key: make_value(scalar, rng)[()] for key in keys}  # ORT takes each value as one number
    return _tensor(plan, rng)


def _tensor(plan: Plan, rng: np.random.Generator) -> np.ndarray:
    """Like make_inputs: ints in [0, 2), bools, standard normal floats; strings of 1 to 8 letters."""
    dtype = np.dtype(plan.dtype)
    if dtype.kind == "O":
        count = int(np.prod(plan.shape, dtype=np.int64))
        array = np.empty(count, dtype=object)
        array[:] = ["".join(rng.choice(_LETTERS, rng.integers(1, 9))) for _ in range(count)]
        return array.reshape(plan.shape)
    if dtype.kind in "iu":
        return rng.integers(0, 2, size=plan.shape, dtype=dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=plan.shape).astype(bool)
    return rng.standard_normal(size=plan.shape).astype(dtype)


def _np_dtype(elem_type: int) -> np.dtype | None:
    import onnx

    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return None


def _kind_name(kind: str | None) -> str:
    """ "sparse_tensor_type" -> "sparse tensor"; None (a TypeProto with nothing set) -> "undeclared value"."""
    return kind.removesuffix("_type").replace("_", " ") if kind else "undeclared value"


def _type_name(elem_type: int) -> str:
    import onnx

    try:
        return str(onnx.TensorProto.DataType.Name(elem_type)).lower()
    except ValueError:
        return f"type {elem_type}"


__all__ = ["ORT_PYTHON_UNSUPPORTED", "UNSIZED", "GeneratedFeeds", "GraphInputs", "Plan", "graph_inputs", "make_value"]
