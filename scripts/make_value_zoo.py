"""Write a seeded sample folder of small hand-built ONNX files covering every value type a file can hold.

Usage: python scripts/make_value_zoo.py OUT_DIR

Layout, as in the ONNX Model Zoo (one level, so every entry's family is OUT_DIR's name)::

    OUT_DIR/<entry>/model.onnx
    OUT_DIR/<entry>/test_data_set_0/input_<K>.pb, output_<K>.pb

What is in it:
- one entry per TensorProto element type (``TYPE_ENTRIES``), that type on the graph's inputs and outputs;
- casts whose output (or whose inside) is a narrow type, and two ops onnxruntime has no CPU kernel for on a
  type it otherwise takes (``UNSUPPORTED``);
- containers (``CONTAINERS``): sequences of tensors in and out, sequences of maps (ai.onnx.ml ZipMap), maps in
  (ai.onnx.ml DictVectorizer), optionals present and empty, in and out, an optional sequence, a nested sequence;
- edges: a Constant-only graph (no inputs, so its data set has output files only), NaN / +Inf / -Inf outputs,
  a ReduceMax over an empty axis, exact int64 arithmetic past 2**53, and one file that onnx.checker's full check
  rejects (a value_info shape inference contradicts) although the graph itself is fine.

Stored outputs come from onnx.reference.ReferenceEvaluator, or from numpy where the reference lacks the op
(ZipMap, DictVectorizer) or is wrong (OptionalHasElement on an empty optional); never from onnxruntime, which
these files are meant to test. Every stored value is checked against the graph's declared type before it is
written, and every model passes onnx.checker's full check except the one meant to fail it. Output bytes are the
same on every run (values are seeded per entry name).

Also importable by file path: ``make_value_zoo(out_dir)``, ``Entry``, ``write_entry``, ``to_proto``,
``TYPE_ENTRIES``, ``CONTAINERS``, ``UNSUPPORTED``, ``CHECKER_REJECTS``.
"""

# No `from __future__ import annotations`: with string annotations @dataclass looks this module up in
# sys.modules, which a by-path import (spec_from_file_location + exec_module) need not have filled.
import argparse
import shutil
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

ML = "ai.onnx.ml"
FLOAT, DOUBLE, INT64 = TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64
BOOL, STRING = TensorProto.BOOL, TensorProto.STRING
Value = Any  # np.ndarray | list | dict | None: what one data set file holds once read back
Proto = onnx.TensorProto | onnx.SequenceProto | onnx.MapProto | onnx.OptionalProto

# TensorProto element type -> (op, opset) of its entry. The op is one onnxruntime 1.32's CPU provider has a kernel
# for on that type wherever any op has one (probed); the opset is the lowest whose schema of the op takes the type.
TYPE_OPS: dict[str, tuple[str, int]] = {
    "FLOAT": ("Add", 21),
    "DOUBLE": ("Add", 21),
    "FLOAT16": ("Add", 21),
    "BFLOAT16": ("Concat", 21),  # ORT has no CPU Add for bfloat16; Concat it has
    "FLOAT8E4M3FN": ("Identity", 21),
    "FLOAT8E4M3FNUZ": ("Identity", 21),
    "FLOAT8E5M2": ("Identity", 21),
    "FLOAT8E5M2FNUZ": ("Identity", 21),
    "INT4": ("Transpose", 21),  # ORT has no Identity for int4/uint4; Transpose and Cast it has
    "UINT4": ("Transpose", 21),
    "FLOAT4E2M1": ("Identity", 23),  # ORT 1.32 has no CPU kernel of any op for float4e2m1
    "FLOAT8E8M0": ("Cast", 24),  # Cast (e8m0 to e8m0) is the one ORT kernel that takes e8m0
    "INT2": ("Transpose", 25),
    "UINT2": ("Transpose", 25),
    "FLOAT6E2M3": ("Cast", 28),  # only Cast-28 takes float6, and ORT 1.32 does not know the type at all
    "FLOAT6E3M2": ("Cast", 28),
    "INT8": ("Mul", 21),
    "UINT8": ("Max", 21),
    "INT16": ("Neg", 21),
    "UINT16": ("Add", 21),
    "INT32": ("MatMul", 21),
    "UINT32": ("Add", 21),
    "INT64": ("Add", 21),
    "UINT64": ("Mul", 21),
    "BOOL": ("Xor", 21),
    "STRING": ("StringConcat", 21),
    "COMPLEX64": ("Identity", 21),  # ORT registers no complex tensor type at all: it refuses the file
    "COMPLEX128": ("Concat", 21),
}
if set(TYPE_OPS) != set(TensorProto.DataType.keys()) - {"UNDEFINED"}:
    # A new onnx with a new element type should fail here, not silently go untested.
    raise RuntimeError(
        f"TYPE_OPS and TensorProto.DataType disagree: {sorted(set(TYPE_OPS) ^ set(TensorProto.DataType.keys()))}"
    )
TYPE_ENTRIES: dict[str, str] = {t: f"{t.lower()}_{op.lower()}" for t, (op, _) in TYPE_OPS.items()}

# Integer draws that keep each type's op in range: ONNX promises nothing about wrap-around.
INT_RANGES: dict[str, tuple[int, int]] = {
    "INT8": (-11, 11),
    "UINT8": (0, 255),
    "INT16": (-30000, 30000),
    "UINT16": (0, 30000),
    "INT32": (-1000, 1000),
    "UINT32": (0, 2**31 - 1),
    "INT64": (-(2**62), 2**62 - 1),  # sums well past 2**53, where a float comparison would blur them
    "UINT64": (0, 2**32 - 1),
    "INT4": (-8, 7),
    "UINT4": (0, 15),
    "INT2": (-2, 1),
    "UINT2": (0, 3),
}
WORDS = np.array(["", "a", "zoo", "ONNX", "ü", "日本", "with space", "tab\there"], dtype=object)

# (input shapes, output shape) of each op on a 2x3 tensor.
OP_SHAPES: dict[str, tuple[list[list[int]], list[int]]] = {
    "Identity": ([[2, 3]], [2, 3]),
    "Neg": ([[2, 3]], [2, 3]),
    "Cast": ([[2, 3]], [2, 3]),
    "Transpose": ([[2, 3]], [3, 2]),
    "Concat": ([[2, 3], [2, 3]], [4, 3]),
    "MatMul": ([[2, 3], [3, 2]], [2, 2]),
}
BINARY = ([[2, 3], [2, 3]], [2, 3])  # Add, Mul, Max, Xor, StringConcat, ...

CONTAINERS: tuple[str, ...] = (
    "sequence_split",
    "sequence_construct",
    "sequence_input",
    "zipmap_int64",
    "zipmap_string",
    "map_string_float",
    "map_int64_double",
    "optional_present",
    "optional_empty",
    "optional_input_present",
    "optional_input_empty",
    "optional_sequence",
    "nested_sequence",
)
UNSUPPORTED: tuple[str, ...] = ("uint16_max", "int16_where")
CHECKER_REJECTS: str = "checker_rejects"


@dataclass
class Entry:
    """One file to write, with its data set: values in graph input / output order (initializers not fed)."""

    name: str
    kind: str  # type | cast | unsupported | container | edge | onnx-ml
    model: onnx.ModelProto
    inputs: list[Value]
    outputs: list[Value]
    note: str = ""
    checker_rejects: bool = False


# --------------------------------------------------------------------------------------------------- helpers


def _seed(name: str) -> int:
    # Per-entry seed from the name: one entry's values do not depend on which others are built.
    return zlib.crc32(name.encode())


def _tensor(name: str, elem: int, shape: Sequence[int | str | None]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _typed(name: str, type_proto: onnx.TypeProto) -> onnx.ValueInfoProto:
    return helper.make_value_info(name, type_proto)


def _tt(elem: int, shape: Sequence[int | str | None] | None) -> onnx.TypeProto:
    return helper.make_tensor_type_proto(elem, shape)


def _model(
    name: str,
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    opset: int = 21,
    ml: bool = False,
    initializers: Sequence[onnx.TensorProto] = (),
    value_info: Sequence[onnx.ValueInfoProto] = (),
) -> onnx.ModelProto:
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(ML, 3)] if ml else [])
    graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers), value_info=list(value_info))
    # The lowest IR the opsets allow (10 for opset 21, 14 for 28): onnxruntime 1.32 loads IR 3 to 14 (checked),
    # and the lowest keeps older readers able to open every file whose types they know.
    ir = helper.find_min_ir_version_for(opsets)
    return helper.make_model(graph, opset_imports=opsets, ir_version=ir, producer_name="make_value_zoo")


def fed_inputs(graph: onnx.GraphProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs that a data set feeds: an initializer listed as an input carries its own value."""
    initializers = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in initializers]


def _reference(model: onnx.ModelProto, inputs: list[Value]) -> list[Value]:
    feeds = {i.name: v for i, v in zip(fed_inputs(model.graph), inputs, strict=True)}
    with warnings.catch_warnings():
        # Division by zero and log of 0 are the point of the NaN/Inf entry: numpy's warnings are noise.
        warnings.simplefilter("ignore", RuntimeWarning)
        return list(ReferenceEvaluator(model).run(None, feeds))


def _normal(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _draw(type_name: str, shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Seeded values of one element type, each exactly representable in it."""
    dtype = helper.tensor_dtype_to_np_dtype(TensorProto.DataType.Value(type_name))
    if type_name == "STRING":
        return rng.choice(WORDS, size=shape)
    if type_name == "BOOL":
        return rng.random(shape) < 0.5
    if type_name.startswith("COMPLEX"):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    if type_name in INT_RANGES:
        low, high = INT_RANGES[type_name]
        return rng.integers(low, high, size=shape, endpoint=True).astype(dtype)
    if type_name == "FLOAT8E8M0":
        return (2.0 ** rng.integers(-4, 5, size=shape)).astype(dtype)  # e8m0 holds powers of two only
    # The narrow floats round a normal draw to their nearest value (float4e2m1 saturates at +-6).
    return rng.standard_normal(shape).astype(dtype)


# --------------------------------------------------------------------------------------------------- writing


def _check(value: Value, type_proto: onnx.TypeProto, where: str) -> None:
    """Refuse to store a value that is not of the declared type (dtype, rank and fixed dims, key and value types)."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        tensor = type_proto.tensor_type
        ok = isinstance(value, np.ndarray) and value.dtype == helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        if ok and tensor.HasField("shape"):
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
            ok = value.ndim == len(dims) and all(d in (None, s) for d, s in zip(dims, value.shape, strict=True))
        if not ok:
            got = f"{type(value).__name__} {getattr(value, 'dtype', '')} {getattr(value, 'shape', '')}"
            raise ValueError(f"{where}: {got} is not {helper.printable_type(type_proto)}")
    elif kind == "sequence_type":
        if not isinstance(value, list):
            raise ValueError(f"{where}: {type(value).__name__} is not a sequence")
        for k, item in enumerate(value):
            _check(item, type_proto.sequence_type.elem_type, f"{where}[{k}]")
    elif kind == "map_type":
        key_type = str if type_proto.map_type.key_type == STRING else int
        if not isinstance(value, dict) or not all(type(k) is key_type for k in value):
            raise ValueError(f"{where}: not a map with {key_type.__name__} keys")
        for k, item in value.items():
            _check(item, type_proto.map_type.value_type, f"{where}[{k!r}]")
    elif kind == "optional_type" and value is not None:
        _check(value, type_proto.optional_type.elem_type, where)


def to_proto(value: Value, type_proto: onnx.TypeProto, name: str) -> Proto:
    """The value as the proto its declared type calls for: what a test_data_set_N/*.pb file holds."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return numpy_helper.from_array(value, name)
    if kind == "optional_type":
        return numpy_helper.from_optional(value, name)  # None: an empty optional (elem_type UNDEFINED)
    if kind == "map_type":
        return _map_proto(value, name)
    elem_kind = type_proto.sequence_type.elem_type.WhichOneof("value")
    if elem_kind == "map_type":
        # from_list would hand each map to from_dict, which cannot take string keys (see _map_proto).
        sequence = onnx.SequenceProto(name=name, elem_type=onnx.SequenceProto.MAP)
        sequence.map_values.extend(_map_proto(m, "") for m in value)
        return sequence
    # The kind given, not guessed from the first item: an empty sequence would otherwise pass for tensors.
    kinds = {"tensor_type": onnx.SequenceProto.TENSOR, "sequence_type": onnx.SequenceProto.SEQUENCE}
    return numpy_helper.from_list(value, name, dtype=kinds[elem_kind])


def _map_proto(value: dict, name: str) -> onnx.MapProto:
    if not isinstance(next(iter(value)), str):
        return numpy_helper.from_dict(value, name)
    # onnx 1.23's from_dict cannot write string keys: np.result_type('abc') reads the key as a dtype name
    # ("TypeError: data type 'abc' not understood"). The same MapProto, by hand: keys as UTF-8 bytes.
    proto = onnx.MapProto(name=name, key_type=STRING)
    proto.string_keys.extend(k.encode() for k in value)
    proto.values.CopyFrom(numpy_helper.from_list(list(value.values())))
    return proto


def write_entry(entry: Entry, out_dir: Path) -> Path:
    """Write OUT_DIR/<name>/model.onnx and its test_data_set_0, after checking every value against its type."""
    graph = entry.model.graph
    files: dict[str, bytes] = {}
    for kind, infos, values in (("input", fed_inputs(graph), entry.inputs), ("output", graph.output, entry.outputs)):
        if len(infos) != len(values):
            raise ValueError(f"{entry.name}: {len(values)} {kind} values for {len(infos)} graph {kind}s")
        for k, (info, value) in enumerate(zip(infos, values, strict=True)):
            _check(value, info.type, f"{entry.name} {kind}_{k} ({info.name})")
            files[f"{kind}_{k}.pb"] = to_proto(value, info.type, info.name).SerializeToString()
    folder = Path(out_dir) / entry.name
    if folder.exists():  # stale data set files of an earlier run would linger
        shutil.rmtree(folder)
    (folder / "test_data_set_0").mkdir(parents=True)
    (folder / "model.onnx").write_bytes(entry.model.SerializeToString())
    for file_name, data in files.items():
        (folder / "test_data_set_0" / file_name).write_bytes(data)
    return folder


def validate(entry: Entry) -> None:
    """Every model passes onnx.checker's full check, except the one that must fail it (and only that check)."""
    if not entry.checker_rejects:
        onnx.checker.check_model(entry.model, full_check=True)
        return
    onnx.checker.check_model(entry.model)
    try:
        onnx.checker.check_model(entry.model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError):
        return
    raise RuntimeError(f"{entry.name}: onnx.checker's full check was meant to reject it and did not")


def describe(entry: Entry) -> str:
    opset = next(o.version for o in entry.model.opset_import if o.domain in ("", "ai.onnx"))
    return f"{entry.name:<30} {entry.kind:<11} opset {opset:>2}  IR {entry.model.ir_version:>2}  {entry.note}"


# --------------------------------------------------------------------------------------------------- element types


def build_type_entry(type_name: str) -> Entry:
    """The element type on the graph's inputs and output, through TYPE_OPS' op; outputs from the reference."""
    op, opset = TYPE_OPS[type_name]
    name = TYPE_ENTRIES[type_name]
    elem = TensorProto.DataType.Value(type_name)
    in_shapes, out_shape = OP_SHAPES.get(op, BINARY)
    attrs = {"Cast": {"to": elem}, "Concat": {"axis": 0}}.get(op, {})
    names = ["a", "b"][: len(in_shapes)]
    model = _model(
        name,
        [helper.make_node(op, names, ["y"], **attrs)],
        [_tensor(n, elem, s) for n, s in zip(names, in_shapes, strict=True)],
        [_tensor("y", elem, out_shape)],
        opset=opset,
    )
    rng = np.random.default_rng(_seed(name))
    inputs = [_draw(type_name, s, rng) for s in in_shapes]
    return Entry(name, "type", model, inputs, _reference(model, inputs), f"{type_name.lower()} {op}")


def _cast_entry(name: str, steps: Sequence[int], x: np.ndarray, note: str, opset: int = 21) -> Entry:
    """float -> steps[0] -> steps[1] ...: a narrow type on the output, or only inside the graph."""
    nodes, previous = [], "x"
    for k, elem in enumerate(steps):
        out = "y" if k == len(steps) - 1 else f"c{k}"
        nodes.append(helper.make_node("Cast", [previous], [out], to=elem))
        previous = out
    model = _model(name, nodes, [_tensor("x", FLOAT, x.shape)], [_tensor("y", steps[-1], x.shape)], opset=opset)
    return Entry(name, "cast", model, [x], _reference(model, [x]), note)


def build_casts() -> list[Entry]:
    rng = np.random.default_rng(_seed("casts"))
    x = _normal(rng, 2, 3)
    small = rng.integers(-8, 8, size=(2, 3)).astype(np.float32)  # in int4's range: no undefined out-of-range casts
    return [
        _cast_entry("float_to_bfloat16", [TensorProto.BFLOAT16], x, "bfloat16 output from a float input"),
        _cast_entry("float_to_float8e4m3fn", [TensorProto.FLOAT8E4M3FN], x, "float8e4m3fn output from a float input"),
        _cast_entry("float8e4m3fn_roundtrip", [TensorProto.FLOAT8E4M3FN, FLOAT], x, "float -> float8e4m3fn -> float"),
        _cast_entry("int4_roundtrip", [TensorProto.INT4, FLOAT], small, "float -> int4 -> float, integers in -8..7"),
    ]


def build_unsupported() -> list[Entry]:
    """Types ORT feeds, through ops ORT's CPU provider has no kernel for on them: it must refuse, not guess."""
    rng = np.random.default_rng(_seed("unsupported"))
    uint16 = [_draw("UINT16", [2, 3], rng) for _ in range(2)]
    # Max: ORT 1.32 registers float, double, float16, int8, int32, int64, uint8, uint32, uint64, but not uint16.
    max_model = _model(
        "uint16_max",
        [helper.make_node("Max", ["a", "b"], ["y"])],
        [_tensor("a", TensorProto.UINT16, [2, 3]), _tensor("b", TensorProto.UINT16, [2, 3])],
        [_tensor("y", TensorProto.UINT16, [2, 3])],
    )
    int16 = [_draw("INT16", [2, 3], rng) for _ in range(2)]
    cond = rng.random((2, 3)) < 0.5
    # Where: ORT 1.32 has no int16 kernel (it has float, double, int32, int64, uint8, string among others).
    where_model = _model(
        "int16_where",
        [helper.make_node("Where", ["cond", "a", "b"], ["y"])],
        [
            _tensor("cond", BOOL, [2, 3]),
            _tensor("a", TensorProto.INT16, [2, 3]),
            _tensor("b", TensorProto.INT16, [2, 3]),
        ],
        [_tensor("y", TensorProto.INT16, [2, 3])],
    )
    return [
        Entry(
            "uint16_max",
            "unsupported",
            max_model,
            uint16,
            _reference(max_model, uint16),
            "Max on uint16: no ORT CPU kernel",
        ),
        Entry(
            "int16_where",
            "unsupported",
            where_model,
            [cond, *int16],
            _reference(where_model, [cond, *int16]),
            "Where on int16: no ORT CPU kernel",
        ),
    ]


def build_string_equal() -> Entry:
    rng = np.random.default_rng(_seed("string_equal"))
    a = rng.choice(WORDS, size=(2, 3))
    b = np.where(rng.random((2, 3)) < 0.5, a, rng.choice(WORDS, size=(2, 3)))
    model = _model(
        "string_equal",
        [helper.make_node("Equal", ["a", "b"], ["y"])],
        [_tensor("a", STRING, [2, 3]), _tensor("b", STRING, [2, 3])],
        [_tensor("y", BOOL, [2, 3])],
    )
    return Entry("string_equal", "type", model, [a, b], _reference(model, [a, b]), "Equal on strings, bool out")


# --------------------------------------------------------------------------------------------------- containers


def build_sequences() -> list[Entry]:
    rng = np.random.default_rng(_seed("sequences"))
    x, a, b = _normal(rng, 2, 3), _normal(rng, 2), _normal(rng, 3)
    split = _model(
        "sequence_split",
        [helper.make_node("SplitToSequence", ["x"], ["parts"], axis=1, keepdims=0)],
        [_tensor("x", FLOAT, [2, 3])],
        [_typed("parts", helper.make_sequence_type_proto(_tt(FLOAT, [2])))],
    )
    construct = _model(
        "sequence_construct",
        [
            helper.make_node("SequenceConstruct", ["a", "b"], ["seq"]),
            helper.make_node("SequenceLength", ["seq"], ["n"]),
        ],
        [_tensor("a", FLOAT, [2]), _tensor("b", FLOAT, [3])],
        [_typed("seq", helper.make_sequence_type_proto(_tt(FLOAT, [None]))), _tensor("n", INT64, [])],
    )
    parts = [_normal(rng, 2) for _ in range(3)]
    stacked = _model(
        "sequence_input",
        [
            helper.make_node("ConcatFromSequence", ["parts"], ["stacked"], axis=0, new_axis=1),
            helper.make_node("SequenceLength", ["parts"], ["n"]),
        ],
        [_typed("parts", helper.make_sequence_type_proto(_tt(FLOAT, [2])))],
        [_tensor("stacked", FLOAT, [3, 2]), _tensor("n", INT64, [])],
    )
    return [
        Entry("sequence_split", "container", split, [x], _reference(split, [x]), "SplitToSequence: sequence out"),
        Entry(
            "sequence_construct", "container", construct, [a, b], _reference(construct, [a, b]), "tensors of 2 shapes"
        ),
        Entry(
            "sequence_input", "container", stacked, [parts], _reference(stacked, [parts]), "sequence of 3 tensors in"
        ),
    ]


def _softmax_rows(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    z = np.exp(rng.standard_normal((rows, cols)))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def build_zipmaps() -> list[Entry]:
    """ai.onnx.ml ZipMap: seq(map(label, float)), what a classifier's probabilities are; computed by numpy."""
    rng = np.random.default_rng(_seed("zipmaps"))
    entries = []
    for name, labels, attr, key_type in (
        ("zipmap_int64", [0, 1, 2], "classlabels_int64s", INT64),
        ("zipmap_string", ["cat", "horse", "ox"], "classlabels_strings", STRING),  # keys of unequal length
    ):
        probs = _softmax_rows(rng, 4, 3)
        out_type = helper.make_sequence_type_proto(helper.make_map_type_proto(key_type, _tt(FLOAT, None)))
        model = _model(
            name,
            [helper.make_node("ZipMap", ["probs"], ["zipped"], domain=ML, **{attr: labels})],
            [_tensor("probs", FLOAT, [4, 3])],
            [_typed("zipped", out_type)],
            ml=True,
        )
        # The reference has no ZipMap: one {label: probability} per row, each value a 0-d float32 tensor.
        zipped = [{label: np.array(p, np.float32) for label, p in zip(labels, row, strict=True)} for row in probs]
        note = f"ZipMap, seq(map({key_type_name(key_type)}, float))"
        entries.append(Entry(name, "container", model, [probs], [zipped], note))
    return entries


def build_maps() -> list[Entry]:
    """ai.onnx.ml DictVectorizer: a map in, a [1, vocabulary] tensor out; computed by numpy."""
    entries = []
    strings = {"a": 1.5, "c": -2.0, "d": 0.25}
    for name, vocabulary, attr, key_type, value_type, feed in (
        ("map_string_float", ["a", "b", "c", "d"], "string_vocabulary", STRING, FLOAT, strings),
        # ORT's Python API turns a dict of floats into map(int64, float) whatever the values' dtype: it refuses this.
        ("map_int64_double", [1, 5, 7], "int64_vocabulary", INT64, DOUBLE, {5: 1.0, 7: -2.5}),
    ):
        dtype = helper.tensor_dtype_to_np_dtype(value_type)
        mapping = {k: np.array(v, dtype) for k, v in feed.items()}
        model = _model(
            name,
            [helper.make_node("DictVectorizer", ["m"], ["y"], domain=ML, **{attr: vocabulary})],
            [_typed("m", helper.make_map_type_proto(key_type, _tt(value_type, None)))],
            [_tensor("y", value_type, [1, len(vocabulary)])],
            ml=True,
        )
        # [1, C] as ORT and skl2onnx have it; the reference evaluator returns a 1-D [C] in float64.
        vector = np.array([[feed.get(k, 0.0) for k in vocabulary]], dtype)
        note = f"DictVectorizer on map({key_type_name(key_type)}, {np.dtype(dtype).name})"
        entries.append(Entry(name, "container", model, [mapping], [vector], note))
    return entries


def key_type_name(elem: int) -> str:
    return TensorProto.DataType.Name(elem).lower()


def build_optionals() -> list[Entry]:
    """Optional present and empty, as outputs and as inputs; computed by hand (see optional_empty)."""
    rng = np.random.default_rng(_seed("optionals"))
    x = _normal(rng, 2, 3)
    opt_type = helper.make_optional_type_proto(_tt(FLOAT, [2, 3]))
    has = helper.make_node("OptionalHasElement", ["o"], ["has"])
    present = _model(
        "optional_present",
        [helper.make_node("Optional", ["x"], ["o"]), has, helper.make_node("OptionalGetElement", ["o"], ["got"])],
        [_tensor("x", FLOAT, [2, 3])],
        [_typed("o", opt_type), _tensor("has", BOOL, []), _tensor("got", FLOAT, [2, 3])],
    )
    # The reference evaluator says an empty optional has an element (True); the spec, and ORT, say False.
    empty = _model(
        "optional_empty",
        [helper.make_node("Optional", [], ["o"], type=_tt(FLOAT, [2, 3])), has, helper.make_node("Neg", ["x"], ["y"])],
        [_tensor("x", FLOAT, [2, 3])],
        [_typed("o", opt_type), _tensor("has", BOOL, []), _tensor("y", FLOAT, [2, 3])],
    )
    fed_present = _model(
        "optional_input_present",
        [has, helper.make_node("OptionalGetElement", ["o"], ["got"])],
        [_typed("o", opt_type)],
        [_tensor("has", BOOL, []), _tensor("got", FLOAT, [2, 3])],
    )
    fed_empty = _model("optional_input_empty", [has], [_typed("o", opt_type)], [_tensor("has", BOOL, [])])
    true, false = np.array(True), np.array(False)
    return [
        Entry("optional_present", "container", present, [x], [x, true, x], "Optional(x) out, has, get"),
        Entry("optional_empty", "container", empty, [x], [None, false, -x], "empty Optional out, has = False"),
        Entry("optional_input_present", "container", fed_present, [x], [true, x], "optional input, present"),
        Entry("optional_input_empty", "container", fed_empty, [None], [false], "optional input, empty"),
    ]


def build_nested() -> list[Entry]:
    rng = np.random.default_rng(_seed("nested"))
    x = _normal(rng, 2, 3)
    seq_type = helper.make_sequence_type_proto(_tt(FLOAT, [2]))
    opt_seq = _model(
        "optional_sequence",
        [
            helper.make_node("SplitToSequence", ["x"], ["parts"], axis=1, keepdims=0),
            helper.make_node("Optional", ["parts"], ["o"]),
        ],
        [_tensor("x", FLOAT, [2, 3])],
        [_typed("o", helper.make_optional_type_proto(seq_type))],
    )
    # No op takes seq(seq(tensor)), but the type and SequenceProto allow it: the graph passes its input through.
    nested_type = helper.make_sequence_type_proto(seq_type)
    nested = _model("nested_sequence", [], [_typed("s", nested_type)], [_typed("s", nested_type)])
    value = [[_normal(rng, 2), _normal(rng, 2)], [_normal(rng, 2)]]
    return [
        # By hand: the reference evaluator returns an Optional as a list around its value.
        Entry("optional_sequence", "container", opt_seq, [x], [list(x.T.copy())], "Optional(sequence) out"),
        Entry("nested_sequence", "container", nested, [value], [value], "seq(seq(tensor)) in and out, no nodes"),
    ]


# --------------------------------------------------------------------------------------------------- edges


def build_edges() -> list[Entry]:
    constant = np.array([[1.5, -2.0], [0.0, 3.25]], np.float32)
    const_model = _model(
        "constant_only",
        [helper.make_node("Constant", [], ["y"], value=numpy_helper.from_array(constant))],
        [],
        [_tensor("y", FLOAT, [2, 2])],
    )
    x, zero = np.array([1.0, -1.0, 0.0, 4.0], np.float32), np.zeros(4, np.float32)
    nan_inf = _model(
        "nan_inf",
        [helper.make_node("Div", ["x", "zero"], ["quotient"]), helper.make_node("Log", ["x"], ["log"])],
        [_tensor("x", FLOAT, [4]), _tensor("zero", FLOAT, [4])],
        [_tensor("quotient", FLOAT, [4]), _tensor("log", FLOAT, [4])],
    )
    empty = np.zeros((2, 0), np.float32)
    # Since opset 18 a reduction over an empty set is defined: ReduceMax gives -inf for floats.
    reduce_max = _model(
        "reduce_max_empty",
        [helper.make_node("ReduceMax", ["x", "axes"], ["y"], keepdims=0)],
        [_tensor("x", FLOAT, [2, 0])],
        [_tensor("y", FLOAT, [2])],
        initializers=[numpy_helper.from_array(np.array([1], np.int64), "axes")],
    )
    return [
        Entry("constant_only", "edge", const_model, [], [constant], "no inputs: output files only"),
        Entry(
            "nan_inf",
            "edge",
            nan_inf,
            [x, zero],
            _reference(nan_inf, [x, zero]),
            "x/0 = +-inf, 0/0 = nan, log 0 = -inf",
        ),
        Entry("reduce_max_empty", "edge", reduce_max, [empty], _reference(reduce_max, [empty]), "2x0 input, -inf out"),
        build_int_exact(),
        build_checker_rejects(),
    ]


def build_int_exact() -> Entry:
    a = np.array([2**31 + 1, -7, 7, 2**53 + 1], np.int64)
    b = np.array([2**31 - 1, 3, -3, 1], np.int64)
    c = np.array([5, 3, -3, 2**40], np.int64)
    model = _model(
        "int_exact",
        [
            helper.make_node("Mul", ["a", "b"], ["ab"]),
            helper.make_node("Add", ["ab", "a"], ["y"]),
            helper.make_node("Mod", ["a", "c"], ["r"]),  # fmod=0: the sign of the divisor, as Python's %
        ],
        [_tensor(n, INT64, [4]) for n in "abc"],
        [_tensor("y", INT64, [4]), _tensor("r", INT64, [4])],
    )
    return Entry("int_exact", "edge", model, [a, b, c], [a * b + a, a % c], "int64 past 2**53, Mod of negatives")


def build_checker_rejects() -> Entry:
    rng = np.random.default_rng(_seed(CHECKER_REJECTS))
    x = _normal(rng, 2, 3)
    # value_info says h is 3x2; Relu of a 2x3 is 2x3. The full check's strict shape inference rejects the file
    # ("Inferred shape and existing shape differ in dimension 0: (2) vs (3)"); ORT logs it and runs correctly.
    model = _model(
        CHECKER_REJECTS,
        [helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Neg", ["h"], ["y"])],
        [_tensor("x", FLOAT, [2, 3])],
        [_tensor("y", FLOAT, [2, 3])],
        value_info=[_tensor("h", FLOAT, [3, 2])],
    )
    expected = -np.maximum(x, 0)
    return Entry(CHECKER_REJECTS, "edge", model, [x], [expected], "value_info shape contradicts inference", True)


# --------------------------------------------------------------------------------------------------- main


def build_all() -> list[Entry]:
    builders: list[Callable[[], list[Entry]]] = [
        lambda: [build_type_entry(t) for t in TYPE_OPS],
        lambda: [build_string_equal()],
        build_casts,
        build_unsupported,
        build_sequences,
        build_zipmaps,
        build_maps,
        build_optionals,
        build_nested,
        build_edges,
    ]
    entries = [entry for build in builders for entry in build()]
    promised = {*TYPE_ENTRIES.values(), *CONTAINERS, *UNSUPPORTED, CHECKER_REJECTS}
    if promised - {e.name for e in entries}:
        raise RuntimeError(
            f"entries named in this module's lists but not built: {sorted(promised - {e.name for e in entries})}"
        )
    return entries


def write_all(entries: Iterable[Entry], out_dir: Path) -> list[Path]:
    """Validate and write each entry, saying so; return the folders written."""
    written = []
    for entry in entries:
        validate(entry)
        written.append(write_entry(entry, Path(out_dir)))
        print(describe(entry), flush=True)
    return written


def make_value_zoo(out_dir: Path) -> list[Path]:
    """Build, validate and write every entry; return the folders written."""
    return write_all(build_all(), out_dir)


def cli(make: Callable[[Path], list[Path]], description: str, argv: Sequence[str] | None) -> int:
    """`make OUT_DIR` as a command line (shared with make_onnxml_zoo.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out_dir", type=Path, help="folder to write the entries into")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    written = make(args.out_dir)
    print(f"wrote {len(written)} entries to {args.out_dir} in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli(make_value_zoo, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())
