"""Seeded generator of mutated ("fuzzed") ONNX models, laid out for the suite's ``--zoo-onnx-dir DIR``.

``make_mutants(sandbox, count, seed, canary)`` writes `count` broken models under `sandbox`, in the ONNX
Model Zoo layout: ``sandbox/<family>/<name>/model.onnx`` with ``test_data_set_0/input_K.pb`` and
``output_K.pb`` beside it (and external data files where a mutation needs them), where family is the
mutation kind and name is ``<kind>_<index>``. A few variants write a bare ``sandbox/<family>/<name>.onnx``
or an archive ``sandbox/<family>/<name>.tar.gz`` (members ``<name>/model.onnx`` ...) instead.

Every mutant starts from one of four small valid models built here with onnx.helper (an MLP of Gemm+Relu,
a Conv+Relu+GlobalAveragePool+Flatten+Gemm net, MatMul+Add+Softmax, and Gather on an embedding table fed
an int64 input; opsets 13-17, IR 8, each under 50 KB, reference outputs from onnxruntime's CPU provider),
copied (``ModelProto().CopyFrom``) and edited at the protobuf level, or at the byte level. Mutants are
never checked with onnx.checker nor loaded with onnx's external data loader: they are meant to be bad.

Mutant ``i`` is of kind ``MUTATIONS[i % len(MUTATIONS)]``, so any count >= len(MUTATIONS) covers every
kind; within a kind the variants below are taken in turn (the k-th mutant of a kind is variant
``k % variants``), so 330 mutants cover every variant of every kind. The parameters (which base model,
node, tensor, byte, length ...) come from a generator seeded with (seed, i): the same (count, seed) gives
byte-identical files, and the first n mutants of a larger count are the n mutants of count n.

The kinds, what they exercise and why:

- ``truncated``: the serialized model cut at 0 bytes, 1 byte, a random length, or one byte short (some as
  bare .onnx files). Downloads and copies get cut; protobuf parsing must fail cleanly, not crash.
- ``bitflip``: 1-20 random bytes XORed anywhere, in the first or the last 64 bytes (one variant a bare
  file). Bit rot: may give an unparsable protobuf, a structurally odd graph, or a model that runs and
  gives different numbers; each must be a labelled row, never a crash.
- ``wrong_dtype``: a graph input's elem_type changed (float -> int8, string, bfloat16, an undefined 999;
  the int64 ids -> float), a graph output's, or an initializer's data_type changed so its raw_data no
  longer fits (or a string type with raw_data). Type checks before numpy and before the runtime.
- ``shape_mismatch``: initializer dims that disagree with raw_data (one more row, a negative dim), that
  fit the bytes but not the op (Gemm weight transposed, a Conv weight flattened), a graph input with an
  extra axis, or test data stored with another shape than the graph declares (inputs, outputs).
- ``dangling_input``: a node input renamed to a name nothing produces, a graph output nothing produces,
  or an initializer removed while a node still reads it. Graph resolution must fail with a message.
- ``cycle``: a node's input rewired to a later node's output, or to its own output. Topological sorting
  must notice the loop rather than recurse forever.
- ``huge_dims``: a graph input or output dim of 2**40 or 2**63-1, initializers declared [2**20, 2**20]
  (tiny raw_data, external data, or no data at all) or [2**32]*3 (the element count overflows int64), a
  test data tensor declaring 2**40 elements. Anything that allocates from declared sizes must refuse.
- ``unknown_op``: an op_type made up, lowercased or empty; a domain made up (declared in opset_import or
  not); the default opset version set to 999. The runtime rejects these; the suite must say which.
- ``escape``: external data that points outside the model folder at `canary` (absolute, ``../../..``,
  40 levels of ``..``, a NUL byte after the canary path), a symlink inside the folder that leads to it
  (as the external data file, as a folder on the way to it, as model.onnx, as test data), test data with
  external data at it, tar archives with a member whose ``..`` chain or absolute name reaches it, a
  symlink or hard link member to it followed by a file written through that name; and bounds and syntax:
  offset or length past the end of a real file inside the folder, offset/length that are not numbers, a
  ``..`` that resolves back inside the folder, a location naming a folder. The test checks the canary
  was neither read nor written: untrusted models must never reach files outside their folder.
- ``duplicate_names``: a second node writing another node's output, two initializers with one name, a
  graph input or output listed twice, a node writing the graph input's name, all nodes sharing one node
  name (which a runtime may accept). SSA violations that runtimes handle differently.
- ``empty_graph``: a graph with no nodes (outputs dangling), with no outputs, with nothing at all, with
  no nodes and its inputs as outputs (it runs: the stored outputs must not match), a model with no graph,
  a zero-byte test_data_set input_0.pb. Empty things must not be mistaken for a model that passes.
- ``bad_test_data``: input_0.pb / output_0.pb truncated or bitflipped, input stored as another dtype,
  output_0.pb missing, an extra input_1.pb, random bytes, a tensor name unknown to the graph, input_0.pb a
  folder, test_data_set_0 a file, an UNDEFINED data type, or reference outputs perturbed (valid files,
  wrong values: a mismatch row rather than a load error).
- ``archive``: .tar.gz files gzip-truncated, bitflipped, not gzip at all, with a ``../`` member, an
  absolute member name (the canary's path), a symlink member to the canary, a member whose header claims
  2**40 bytes (only the header and 1 KB follow), a PAX sparse member whose real size is 2**40, no
  model.onnx, model.onnx as a FIFO or as a folder, more than 10,000 members (one empty file repeated),
  the model at the archive's root, or model.onnx twice (the second a truncated copy). Unpacking must
  check before it writes.

Nothing is written outside `sandbox`: symlinks and archive members point out, they never write out, and
every file is created with O_EXCL | O_NOFOLLOW under folders checked to resolve inside the sandbox.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["MUTATIONS", "Mutant", "make_mutants"]

IR_VERSION = 8
MAX_BASE_BYTES = 50_000
_WEIGHT_SEED = 20_240_917  # the base models' weights and test inputs: fixed, whatever the mutation seed
_HUGE = 2**40
_DEEP_UP = "../" * 40  # more `..` than any real path has: from any folder it climbs to `/`
_WEIGHTS = "weights.bin"
T = TypeVar("T")


@dataclass(frozen=True)
class Mutant:
    """One mutated model as written: `path` is its folder, bare .onnx file or .tar.gz archive."""

    name: str
    family: str
    path: Path
    kind: str
    description: str


# ---------------------------------------------------------------------------------------------- bases


@dataclass(frozen=True)
class _Base:
    """A small valid model with one test data set (inputs and onnxruntime's outputs)."""

    name: str
    model: onnx.ModelProto
    inputs: tuple[tuple[str, np.ndarray], ...]
    outputs: tuple[tuple[str, np.ndarray], ...]

    def copy(self) -> onnx.ModelProto:
        model = onnx.ModelProto()
        model.CopyFrom(self.model)
        return model

    def serialized(self) -> bytes:
        return _ser(self.model)

    def data_files(
        self,
        inputs: Sequence[tuple[str, np.ndarray]] | None = None,
        outputs: Sequence[tuple[str, np.ndarray]] | None = None,
    ) -> dict[str, bytes]:
        files = {}
        for k, (name, array) in enumerate(self.inputs if inputs is None else inputs):
            files[f"test_data_set_0/input_{k}.pb"] = _tensor_bytes(name, array)
        for k, (name, array) in enumerate(self.outputs if outputs is None else outputs):
            files[f"test_data_set_0/output_{k}.pb"] = _tensor_bytes(name, array)
        return files

    def files(self, model: onnx.ModelProto | bytes | None = None) -> dict[str, bytes]:
        """model.onnx (this base, or the given mutated model or bytes) and the test data set."""
        if model is None:
            model = self.model
        return {"model.onnx": model if isinstance(model, bytes) else _ser(model), **self.data_files()}

    @property
    def float_input(self) -> bool:
        return self.model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT


def _ser(message: onnx.ModelProto | TensorProto) -> bytes:
    return message.SerializeToString(deterministic=True)


def _tensor_bytes(name: str, array: np.ndarray) -> bytes:
    return _ser(numpy_helper.from_array(array, name))


def _value(name: str, elem_type: int, shape: Sequence[int | str]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, list(shape))


def _model(graph: onnx.GraphProto, opset: int) -> onnx.ModelProto:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="onnx_fuzz")
    model.ir_version = IR_VERSION
    return model


def _mlp(rng: np.random.Generator) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    weights = {
        "w1": rng.standard_normal((16, 8)).astype(np.float32) / 3,
        "b1": rng.standard_normal(16).astype(np.float32) / 10,
        "w2": rng.standard_normal((4, 16)).astype(np.float32) / 4,
        "b2": rng.standard_normal(4).astype(np.float32) / 10,
    }
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], name="gemm1", transB=1),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
        helper.make_node("Gemm", ["r1", "w2", "b2"], ["y"], name="gemm2", transB=1),
    ]
    inits = [numpy_helper.from_array(v, k) for k, v in weights.items()]
    graph = helper.make_graph(
        nodes, "mlp", [_value("x", TensorProto.FLOAT, ["batch", 8])], [_value("y", TensorProto.FLOAT, ["batch", 4])]
    )
    graph.initializer.extend(inits)
    return _model(graph, 13), {"x": rng.standard_normal((2, 8)).astype(np.float32)}


def _convnet(rng: np.random.Generator) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    weights = {
        "conv_w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32) / 5,
        "conv_b": rng.standard_normal(4).astype(np.float32) / 10,
        "fc_w": rng.standard_normal((5, 4)).astype(np.float32) / 2,
        "fc_b": rng.standard_normal(5).astype(np.float32) / 10,
    }
    nodes = [
        helper.make_node("Conv", ["image", "conv_w", "conv_b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["cr"], name="relu"),
        helper.make_node("GlobalAveragePool", ["cr"], ["pooled"], name="pool"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "convnet",
        [_value("image", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [_value("logits", TensorProto.FLOAT, ["N", 5])],
    )
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in weights.items())
    return _model(graph, 15), {"image": rng.standard_normal((2, 3, 8, 8)).astype(np.float32)}


def _softmax(rng: np.random.Generator) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    weights = {
        "proj_w": rng.standard_normal((6, 3)).astype(np.float32),
        "proj_b": rng.standard_normal(3).astype(np.float32) / 10,
    }
    nodes = [
        helper.make_node("MatMul", ["features", "proj_w"], ["mm"], name="matmul"),
        helper.make_node("Add", ["mm", "proj_b"], ["scores"], name="add"),
        helper.make_node("Softmax", ["scores"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "softmax",
        [_value("features", TensorProto.FLOAT, ["batch", 6])],
        [_value("probs", TensorProto.FLOAT, ["batch", 3])],
    )
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in weights.items())
    return _model(graph, 17), {"features": rng.standard_normal((3, 6)).astype(np.float32)}


def _embedding(rng: np.random.Generator) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    table = rng.standard_normal((20, 4)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["vectors"], name="gather", axis=0),
        helper.make_node("ReduceMean", ["vectors"], ["mean"], name="mean", axes=[1], keepdims=0),
        helper.make_node("Tanh", ["mean"], ["embedding"], name="tanh"),
    ]
    graph = helper.make_graph(
        nodes,
        "embedding",
        [_value("ids", TensorProto.INT64, ["batch", 5])],
        [_value("embedding", TensorProto.FLOAT, ["batch", 4])],
    )
    graph.initializer.append(numpy_helper.from_array(table, "table"))
    return _model(graph, 16), {"ids": rng.integers(0, 20, size=(2, 5), dtype=np.int64)}


@cache
def _bases() -> tuple[_Base, ...]:
    """The valid base models, checked, with outputs from onnxruntime's CPU provider (once a process)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    bases = []
    for build in (_mlp, _convnet, _softmax, _embedding):
        model, feeds = build(np.random.default_rng(_WEIGHT_SEED))
        onnx.checker.check_model(model, full_check=True)  # the bases only: mutants are never checked
        data = _ser(model)
        if len(data) >= MAX_BASE_BYTES:
            raise AssertionError(f"base model {model.graph.name} is {len(data)} bytes")
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        results = session.run(None, feeds)
        outputs = tuple((v.name, np.asarray(r)) for v, r in zip(model.graph.output, results, strict=True))
        bases.append(_Base(model.graph.name, model, tuple(feeds.items()), outputs))
    return tuple(bases)


# ------------------------------------------------------------------------------------ mutation plumbing


@dataclass(frozen=True)
class _Ctx:
    """What a variant may use: its seeded generator, its name and folder, the canary, the bases."""

    rng: np.random.Generator
    name: str
    model_dir: Path  # sandbox/<family>/<name>, resolved (where a folder layout is written)
    canary: Path  # resolved, outside the sandbox
    bases: tuple[_Base, ...]

    def randint(self, low: int, high: int) -> int:
        """An int in [low, high)."""
        return int(self.rng.integers(low, high))

    def pick(self, items: Sequence[T]) -> T:
        return items[self.randint(0, len(items))]

    def base(self, accept: Callable[[_Base], bool] | None = None) -> _Base:
        return self.pick([b for b in self.bases if accept is None or accept(b)])

    def tag(self) -> str:
        return f"{self.randint(0, 1 << 24):06x}"

    def canary_rel(self) -> str:
        """The canary's path relative to the model folder: `../../../...`."""
        return os.path.relpath(self.canary, self.model_dir)

    def canary_deep(self) -> str:
        """40 levels of `..` then the canary's absolute path: reaches it from any folder."""
        return _DEEP_UP + str(self.canary).lstrip("/")


@dataclass
class _Out:
    """What one variant writes. `layout` folder: `files`, `dirs` and `symlinks` (relative to the model
    folder; link -> target, targets never followed); onnx or tar.gz: `blob` is the whole file."""

    description: str
    files: dict[str, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    dirs: tuple[str, ...] = ()
    layout: str = "folder"
    blob: bytes = b""


Variant = Callable[[_Ctx], _Out]


def _float_inits(model: onnx.ModelProto) -> list[TensorProto]:
    return [t for t in model.graph.initializer if t.data_type == TensorProto.FLOAT]


def _externalize(tensor: TensorProto, location: str, offset: object = None, length: object = None) -> None:
    """Point a tensor's data at an external file (its inline data dropped)."""
    for name in ("raw_data", "float_data", "int64_data", "int32_data"):
        tensor.ClearField(name)
    tensor.data_location = TensorProto.EXTERNAL
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            entry = tensor.external_data.add()
            entry.key, entry.value = key, str(value)


def _set_dims(tensor: TensorProto, dims: Sequence[int]) -> None:
    del tensor.dims[:]
    tensor.dims.extend(dims)


def _set_shape(value: onnx.ValueInfoProto, dims: Sequence[int | str]) -> None:
    shape = value.type.tensor_type.shape
    del shape.dim[:]
    for size in dims:
        dim = shape.dim.add()
        if isinstance(size, str):
            dim.dim_param = size
        else:
            dim.dim_value = size


def _flip(data: bytes, positions: Sequence[int], rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    for position in positions:
        out[position] ^= int(rng.integers(1, 256))
    return bytes(out)


def _flip_some(ctx: _Ctx, data: bytes, low: int = 0, high: int | None = None, most: int = 20) -> tuple[bytes, int]:
    """1..most distinct bytes of data[low:high] XORed with a random non-zero byte."""
    high = len(data) if high is None else high
    count = min(ctx.randint(1, most + 1), high - low)
    positions = sorted(int(p) + low for p in ctx.rng.choice(high - low, size=count, replace=False))
    return _flip(data, positions, ctx.rng), count


def _other_dtype(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float64) if array.dtype == np.float32 else array.astype(np.int32)


# ----------------------------------------------------------------------------------------- truncated


def _truncate(where: str, bare: bool) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        data = base.serialized()
        cut = {
            "zero": 0,
            "one": 1,
            "random": ctx.randint(2, len(data) - 1),
            "last": len(data) - 1,
            "head": ctx.randint(2, 33),
        }[where]
        description = f"{base.name}: serialized model ({len(data)} bytes) cut to its first {cut} bytes"
        if bare:
            return _Out(description + " (bare .onnx file)", layout="onnx", blob=data[:cut])
        return _Out(description, files=base.files(data[:cut]))

    return variant


_TRUNCATED = (
    _truncate("zero", bare=False),
    _truncate("one", bare=False),
    _truncate("random", bare=False),
    _truncate("random", bare=True),
    _truncate("last", bare=False),
    _truncate("head", bare=True),
)


# ------------------------------------------------------------------------------------------- bitflip


def _bitflip(region: str, bare: bool) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        data = base.serialized()
        low, high = {"any": (0, len(data)), "head": (0, 64), "tail": (len(data) - 64, len(data))}[region]
        flipped, count = _flip_some(ctx, data, low, high)
        where = {"any": "anywhere", "head": "in the first 64 bytes", "tail": "in the last 64 bytes"}[region]
        description = f"{base.name}: {count} random bytes XORed {where} of the {len(data)}-byte model"
        if bare:
            return _Out(description + " (bare .onnx file)", layout="onnx", blob=flipped)
        return _Out(description, files=base.files(flipped))

    return variant


_BITFLIP = (
    _bitflip("any", bare=False),
    _bitflip("head", bare=False),
    _bitflip("any", bare=True),
    _bitflip("tail", bare=False),
)


# --------------------------------------------------------------------------------------- wrong_dtype


def _input_dtype(elem_type: int, label: str) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base(lambda b: b.float_input)
        model = base.copy()
        value = model.graph.input[0]
        value.type.tensor_type.elem_type = elem_type
        description = f"{base.name}: graph input {value.name!r} elem_type FLOAT -> {label}; test data still float32"
        return _Out(description, files=base.files(model))

    return variant


def _ids_as_float(ctx: _Ctx) -> _Out:
    base = ctx.base(lambda b: not b.float_input)
    model = base.copy()
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.FLOAT
    return _Out(
        f"{base.name}: int64 graph input 'ids' declared FLOAT (Gather indices must be integers)",
        files=base.files(model),
    )


def _init_dtype(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    new = ctx.pick([TensorProto.DOUBLE, TensorProto.INT64, TensorProto.FLOAT16, TensorProto.INT8, TensorProto.BOOL])
    tensor.data_type = new
    label = TensorProto.DataType.Name(new)
    description = (
        f"{base.name}: initializer {tensor.name!r} data_type FLOAT -> {label}; "
        f"its {len(tensor.raw_data)} bytes of raw_data no longer fit"
    )
    return _Out(description, files=base.files(model))


def _init_string(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    tensor.data_type = TensorProto.STRING
    description = f"{base.name}: initializer {tensor.name!r} data_type FLOAT -> STRING, keeping its raw_data"
    return _Out(description, files=base.files(model))


def _output_dtype(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    value = model.graph.output[0]
    new = ctx.pick([TensorProto.INT32, TensorProto.UINT8, TensorProto.COMPLEX64])
    value.type.tensor_type.elem_type = new
    label = TensorProto.DataType.Name(new)
    description = f"{base.name}: graph output {value.name!r} declared {label}; the graph computes float"
    return _Out(description, files=base.files(model))


_WRONG_DTYPE = (
    _input_dtype(TensorProto.INT8, "INT8"),
    _input_dtype(TensorProto.STRING, "STRING"),
    _input_dtype(TensorProto.BFLOAT16, "BFLOAT16"),
    _input_dtype(999, "999 (no such DataType)"),
    _init_dtype,
    _init_string,
    _ids_as_float,
    _output_dtype,
)


# ------------------------------------------------------------------------------------ shape_mismatch


def _init_extra_rows(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    old = list(tensor.dims)
    _set_dims(tensor, [old[0] + ctx.randint(1, 4), *old[1:]])
    description = f"{base.name}: initializer {tensor.name!r} dims {old} -> {list(tensor.dims)}; raw_data left as is"
    return _Out(description, files=base.files(model))


def _gemm_transposed(ctx: _Ctx) -> _Out:
    base = ctx.base(lambda b: any(n.op_type == "Gemm" for n in b.model.graph.node))
    model = base.copy()
    node = ctx.pick([n for n in model.graph.node if n.op_type == "Gemm"])
    tensor = next(t for t in model.graph.initializer if t.name == node.input[1])
    old = list(tensor.dims)
    _set_dims(tensor, old[::-1])
    description = (
        f"{base.name}: Gemm {node.name!r} weight {tensor.name!r} dims {old} -> {old[::-1]} (bytes fit, op does not)"
    )
    return _Out(description, files=base.files(model))


def _init_flattened(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick([t for t in _float_inits(model) if len(t.dims) > 1])
    old = list(tensor.dims)
    _set_dims(tensor, [int(np.prod(old))])
    description = (
        f"{base.name}: initializer {tensor.name!r} dims {old} -> {list(tensor.dims)} (bytes fit, rank does not)"
    )
    return _Out(description, files=base.files(model))


def _init_negative_dim(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    old = list(tensor.dims)
    _set_dims(tensor, [-old[0], *old[1:]])
    description = f"{base.name}: initializer {tensor.name!r} dims {old} -> {list(tensor.dims)} (a negative dim)"
    return _Out(description, files=base.files(model))


def _reshaped(ctx: _Ctx, array: np.ndarray) -> np.ndarray:
    """The same dtype, another shape: the last dim grown, or an axis added."""
    if ctx.randint(0, 2):
        shape = (*array.shape[:-1], array.shape[-1] + ctx.randint(1, 4))
    else:
        shape = (*array.shape, 2)
    if array.dtype.kind == "i":
        return ctx.rng.integers(0, 4, size=shape).astype(array.dtype)
    return ctx.rng.standard_normal(shape).astype(array.dtype)


def _data_input_shape(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *rest = base.inputs
    other = _reshaped(ctx, array)
    files = {"model.onnx": base.serialized(), **base.data_files(inputs=[(name, other), *rest])}
    description = (
        f"{base.name}: test data input {name!r} stored as {list(other.shape)}, "
        f"a shape the graph's input does not take (valid: {list(array.shape)})"
    )
    return _Out(description, files=files)


def _data_output_shape(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *rest = base.outputs
    other = _reshaped(ctx, array)
    files = {"model.onnx": base.serialized(), **base.data_files(outputs=[(name, other), *rest])}
    description = (
        f"{base.name}: reference output {name!r} stored as {list(other.shape)}; the model gives {list(array.shape)}"
    )
    return _Out(description, files=files)


def _input_extra_axis(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    value = model.graph.input[0]
    dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
    _set_shape(value, [*dims, 1])
    description = (
        f"{base.name}: graph input {value.name!r} declared {[*dims, 1]} (an extra axis); test data has rank {len(dims)}"
    )
    return _Out(description, files=base.files(model))


_SHAPE_MISMATCH = (
    _init_extra_rows,
    _gemm_transposed,
    _data_input_shape,
    _input_extra_axis,
    _init_negative_dim,
    _data_output_shape,
    _init_flattened,
)


# ------------------------------------------------------------------------------------ dangling_input


def _node_input_renamed(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    node = ctx.pick(list(model.graph.node))
    slot = ctx.randint(0, len(node.input))
    old, new = node.input[slot], f"missing_{ctx.tag()}"
    node.input[slot] = new
    description = f"{base.name}: node {node.name!r} input {slot} {old!r} -> {new!r}, which nothing produces"
    return _Out(description, files=base.files(model))


def _output_renamed(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    value = model.graph.output[0]
    old, value.name = value.name, f"unproduced_{ctx.tag()}"
    description = f"{base.name}: graph output {old!r} renamed {value.name!r}, which no node produces"
    return _Out(description, files=base.files(model))


def _initializer_removed(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    inits = model.graph.initializer
    index = ctx.randint(0, len(inits))
    name = inits[index].name
    del inits[index]
    description = f"{base.name}: initializer {name!r} removed; a node still reads it"
    return _Out(description, files=base.files(model))


_DANGLING_INPUT = (_node_input_renamed, _output_renamed, _initializer_removed)


# --------------------------------------------------------------------------------------------- cycle


def _later_output(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    nodes = model.graph.node
    first = ctx.randint(0, len(nodes) - 1)
    later = ctx.randint(first + 1, len(nodes))
    old = nodes[first].input[0]
    nodes[first].input[0] = nodes[later].output[0]
    description = (
        f"{base.name}: node {nodes[first].name!r} input {old!r} -> {nodes[later].output[0]!r}, "
        f"the output of later node {nodes[later].name!r} (a cycle)"
    )
    return _Out(description, files=base.files(model))


def _self_loop(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    node = ctx.pick(list(model.graph.node))
    old = node.input[0]
    node.input[0] = node.output[0]
    description = f"{base.name}: node {node.name!r} input {old!r} -> its own output {node.output[0]!r}"
    return _Out(description, files=base.files(model))


_CYCLE = (_later_output, _self_loop)


# ----------------------------------------------------------------------------------------- huge_dims


def _io_dim(which: str, size: int) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        value = (model.graph.input if which == "input" else model.graph.output)[0]
        dims = value.type.tensor_type.shape.dim
        axis = ctx.randint(0, len(dims))
        dims[axis].Clear()
        dims[axis].dim_value = size
        description = f"{base.name}: graph {which} {value.name!r} dim {axis} set to {size}"
        return _Out(description, files=base.files(model))

    return variant


def _huge_init(storage: str) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        tensor = ctx.pick(_float_inits(model))
        raw = tensor.raw_data
        dims = [2**32] * 3 if storage == "overflow" else [2**20, 2**20]
        _set_dims(tensor, dims)
        files = {}
        if storage == "external":
            _externalize(tensor, _WEIGHTS, 0, len(raw))
            files[_WEIGHTS] = raw
            how = f"its {len(raw)} bytes in {_WEIGHTS}"
        elif storage == "none":
            tensor.ClearField("raw_data")
            how = "no data at all"
        else:
            how = f"its {len(raw)} bytes of raw_data"
        description = f"{base.name}: initializer {tensor.name!r} declared {dims} with {how}"
        return _Out(description, files={**base.files(model), **files})

    return variant


def _huge_test_data(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *_ = base.inputs
    tensor = numpy_helper.from_array(array, name)
    _set_dims(tensor, [_HUGE, *array.shape[1:]])
    files = {**base.files(), "test_data_set_0/input_0.pb": _ser(tensor)}
    description = f"{base.name}: test data input_0.pb declares {list(tensor.dims)} with {len(tensor.raw_data)} bytes"
    return _Out(description, files=files)


_HUGE_DIMS = (
    _io_dim("input", _HUGE),
    _huge_init("raw"),
    _huge_init("external"),
    _io_dim("input", 2**63 - 1),
    _huge_init("overflow"),
    _io_dim("output", _HUGE),
    _huge_test_data,
    _huge_init("none"),
)


# ---------------------------------------------------------------------------------------- unknown_op


def _op_renamed(how: str) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        node = ctx.pick(list(model.graph.node))
        old = node.op_type
        node.op_type = {"made_up": f"Fuzz{ctx.tag()}", "case": old.lower() if ctx.randint(0, 2) else old.upper()}.get(
            how, ""
        )
        description = f"{base.name}: node {node.name!r} op_type {old!r} -> {node.op_type!r}"
        return _Out(description, files=base.files(model))

    return variant


def _domain(declared: bool) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        node = ctx.pick(list(model.graph.node))
        node.domain = f"com.zoo_suite.fuzz{ctx.tag()}"
        if declared:
            model.opset_import.append(helper.make_opsetid(node.domain, 1))
        said = "declared in opset_import" if declared else "not in opset_import"
        description = (
            f"{base.name}: node {node.name!r} ({node.op_type}) moved to made-up domain {node.domain!r}, {said}"
        )
        return _Out(description, files=base.files(model))

    return variant


def _future_opset(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    entry = next(o for o in model.opset_import if o.domain in ("", "ai.onnx"))
    old, entry.version = entry.version, ctx.pick([999, 10_000, 2**31 - 1])
    description = f"{base.name}: default-domain opset {old} -> {entry.version}, which no runtime knows"
    return _Out(description, files=base.files(model))


def _ml_domain(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    node = ctx.pick(list(model.graph.node))
    node.domain = "ai.onnx.ml"
    model.opset_import.append(helper.make_opsetid("ai.onnx.ml", 3))
    description = f"{base.name}: node {node.name!r} ({node.op_type}) moved to domain 'ai.onnx.ml', which has no such op"
    return _Out(description, files=base.files(model))


_UNKNOWN_OP = (
    _op_renamed("made_up"),
    _domain(declared=True),
    _domain(declared=False),
    _future_opset,
    _op_renamed("case"),
    _op_renamed("empty"),
    _ml_domain,
)


# ----------------------------------------------------------------------------------- duplicate_names


def _second_writer(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    nodes = model.graph.node
    index = ctx.randint(0, len(nodes))
    twin = onnx.NodeProto()
    twin.CopyFrom(nodes[index])
    twin.name = f"{twin.name}_twin"
    nodes.insert(index + 1, twin)
    description = f"{base.name}: a copy of node {nodes[index].name!r} also writes {twin.output[0]!r}"
    return _Out(description, files=base.files(model))


def _init_twice(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    array = numpy_helper.to_array(tensor)
    model.graph.initializer.append(numpy_helper.from_array((array * 2 + 1).astype(array.dtype), tensor.name))
    description = f"{base.name}: initializer {tensor.name!r} listed twice, with different values"
    return _Out(description, files=base.files(model))


def _io_twice(which: str) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        values = model.graph.input if which == "input" else model.graph.output
        values.append(values[0])
        description = f"{base.name}: graph {which} {values[0].name!r} listed twice"
        return _Out(description, files=base.files(model))

    return variant


def _writes_input(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    nodes = model.graph.node
    node = nodes[ctx.randint(1, len(nodes))]
    old, name = node.output[0], model.graph.input[0].name
    node.output[0] = name
    for other in nodes:
        for slot, used in enumerate(other.input):
            if used == old:
                other.input[slot] = name
    description = f"{base.name}: node {node.name!r} writes {name!r}, the graph input's name (was {old!r})"
    return _Out(description, files=base.files(model))


def _one_node_name(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    name = f"node_{ctx.tag()}"
    for node in model.graph.node:
        node.name = name
    description = f"{base.name}: every node named {name!r} (a runtime may accept this)"
    return _Out(description, files=base.files(model))


_DUPLICATE_NAMES = (
    _second_writer,
    _init_twice,
    _io_twice("input"),
    _io_twice("output"),
    _writes_input,
    _one_node_name,
)


# --------------------------------------------------------------------------------------- empty_graph


def _no_nodes(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    del model.graph.node[:]
    return _Out(f"{base.name}: every node removed; the graph outputs dangle", files=base.files(model))


def _no_outputs(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    del model.graph.output[:]
    return _Out(f"{base.name}: graph outputs removed (nodes kept)", files=base.files(model))


def _zero_byte_input(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = {**base.files(), "test_data_set_0/input_0.pb": b""}
    return _Out(f"{base.name}: valid model; test_data_set_0/input_0.pb is zero bytes", files=files)


def _no_graph(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    model.ClearField("graph")
    return _Out(f"{base.name}: ModelProto with its graph field cleared", files=base.files(model))


def _nothing(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    for name in ("node", "input", "output", "initializer", "value_info"):
        model.graph.ClearField(name)
    return _Out(f"{base.name}: graph with no nodes, inputs, outputs or initializers", files=base.files(model))


def _passthrough(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    del model.graph.node[:]
    del model.graph.output[:]
    model.graph.output.extend(model.graph.input)
    description = f"{base.name}: every node removed and the graph inputs made its outputs (an empty graph that runs)"
    return _Out(description, files=base.files(model))


_EMPTY_GRAPH = (_no_nodes, _no_outputs, _zero_byte_input, _no_graph, _nothing, _passthrough)


# ------------------------------------------------------------------------------------- bad_test_data


def _data_file(which: str, damage: str) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        files = base.files()
        key = f"test_data_set_0/{which}_0.pb"
        data = files[key]
        if damage == "truncated":
            cut = ctx.randint(1, len(data))
            files[key] = data[:cut]
            what = f"cut to {cut} of {len(data)} bytes"
        else:
            files[key], count = _flip_some(ctx, data)
            what = f"{count} bytes XORed"
        return _Out(f"{base.name}: test_data_set_0/{which}_0.pb {what}", files=files)

    return variant


def _data_dtype(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *rest = base.inputs
    other = _other_dtype(array)
    files = {"model.onnx": base.serialized(), **base.data_files(inputs=[(name, other), *rest])}
    description = f"{base.name}: test data input {name!r} stored as {other.dtype}; the graph takes {array.dtype}"
    return _Out(description, files=files)


def _output_missing(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = base.files()
    del files["test_data_set_0/output_0.pb"]
    return _Out(f"{base.name}: test_data_set_0/output_0.pb missing", files=files)


def _extra_input(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *_ = base.inputs
    files = {**base.files(), f"test_data_set_0/input_{len(base.inputs)}.pb": _tensor_bytes(f"{name}_extra", array)}
    return _Out(
        f"{base.name}: an extra test data input_{len(base.inputs)}.pb for a graph that takes fewer", files=files
    )


def _random_bytes(ctx: _Ctx) -> _Out:
    base = ctx.base()
    size = ctx.randint(1, 200)
    files = {**base.files(), "test_data_set_0/input_0.pb": ctx.rng.bytes(size)}
    return _Out(f"{base.name}: test_data_set_0/input_0.pb is {size} random bytes", files=files)


def _unknown_name(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *rest = base.inputs
    other = f"not_{name}_{ctx.tag()}"
    files = {"model.onnx": base.serialized(), **base.data_files(inputs=[(other, array), *rest])}
    return _Out(f"{base.name}: test data input named {other!r}; the graph's input is {name!r}", files=files)


def _input_folder(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = base.files()
    del files["test_data_set_0/input_0.pb"]
    description = f"{base.name}: test_data_set_0/input_0.pb is a folder"
    return _Out(description, files=files, dirs=("test_data_set_0/input_0.pb",))


def _data_set_file(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = {"model.onnx": base.serialized(), "test_data_set_0": base.data_files()["test_data_set_0/input_0.pb"]}
    return _Out(f"{base.name}: test_data_set_0 is a file (input_0.pb's bytes), not a folder", files=files)


def _undefined_type(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *_ = base.inputs
    tensor = numpy_helper.from_array(array, name)
    tensor.data_type = ctx.pick([TensorProto.UNDEFINED, 4242])
    files = {**base.files(), "test_data_set_0/input_0.pb": _ser(tensor)}
    return _Out(f"{base.name}: test data input_0.pb with data_type {tensor.data_type}", files=files)


def _perturbed(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *rest = base.outputs
    scale = ctx.pick([2.0, -1.0, 1.5])
    files = {"model.onnx": base.serialized(), **base.data_files(outputs=[(name, (array * scale + 0.25)), *rest])}
    description = f"{base.name}: reference output {name!r} multiplied by {scale} plus 0.25 (valid files, wrong values)"
    return _Out(description, files=files)


_BAD_TEST_DATA = (
    _data_file("input", "truncated"),
    _data_file("input", "bitflip"),
    _data_dtype,
    _output_missing,
    _extra_input,
    _data_file("output", "truncated"),
    _random_bytes,
    _unknown_name,
    _input_folder,
    _perturbed,
    _data_set_file,
    _undefined_type,
    _data_file("output", "bitflip"),
)


# -------------------------------------------------------------------------------------------- escape


def _external_at(location: Callable[[_Ctx], str], what: str) -> Variant:
    """An initializer's data read from `location`, which leads out of the folder to the canary."""

    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        tensor = ctx.pick(_float_inits(model))
        where = location(ctx)
        _externalize(tensor, where)
        description = f"{base.name}: initializer {tensor.name!r} external data location {where!r} ({what})"
        return _Out(description, files=base.files(model))

    return variant


def _link_weights(relative: bool) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        tensor = ctx.pick(_float_inits(model))
        _externalize(tensor, _WEIGHTS)
        target = ctx.canary_rel() if relative else str(ctx.canary)
        description = f"{base.name}: initializer {tensor.name!r} external data in {_WEIGHTS}, a symlink to {target!r}"
        return _Out(description, files=base.files(model), symlinks={_WEIGHTS: target})

    return variant


def _linked_folder(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    location = f"data/{ctx.canary.name}"
    _externalize(tensor, location)
    target = str(ctx.canary.parent)
    description = (
        f"{base.name}: initializer {tensor.name!r} external data {location!r}; 'data' is a symlink to {target!r}"
    )
    return _Out(description, files=base.files(model), symlinks={"data": target})


def _linked_model(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = base.data_files()
    description = f"{base.name}: model.onnx is a symlink to {str(ctx.canary)!r} (test data beside it)"
    return _Out(description, files=files, symlinks={"model.onnx": str(ctx.canary)})


def _linked_test_data(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = base.files()
    del files["test_data_set_0/input_0.pb"]
    description = f"{base.name}: test_data_set_0/input_0.pb is a symlink to {str(ctx.canary)!r}"
    return _Out(description, files=files, symlinks={"test_data_set_0/input_0.pb": str(ctx.canary)})


def _test_data_external(ctx: _Ctx) -> _Out:
    base = ctx.base()
    (name, array), *_ = base.inputs
    tensor = numpy_helper.from_array(array, name)
    where = ctx.pick([str(ctx.canary), os.path.relpath(ctx.canary, ctx.model_dir / "test_data_set_0")])
    _externalize(tensor, where)
    files = {**base.files(), "test_data_set_0/input_0.pb": _ser(tensor)}
    return _Out(f"{base.name}: test data input_0.pb has external data at {where!r}", files=files)


def _bounds(which: str) -> Variant:
    """A real weights file inside the folder, read past its end."""

    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        model = base.copy()
        tensor = ctx.pick(_float_inits(model))
        raw = tensor.raw_data
        if which == "offset":
            offset, length = len(raw) + ctx.randint(1, 4096), len(raw)
        else:
            offset, length = ctx.randint(0, len(raw)), len(raw) + ctx.randint(1, 1 << 20)
        _externalize(tensor, _WEIGHTS, offset, length)
        description = (
            f"{base.name}: initializer {tensor.name!r} external data {_WEIGHTS} ({len(raw)} bytes) "
            f"at offset {offset}, length {length}: past its end"
        )
        return _Out(description, files={**base.files(model), _WEIGHTS: raw})

    return variant


def _garbage_bounds(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    raw = tensor.raw_data
    offset, length = ctx.pick([("-8", str(len(raw))), ("abc", str(len(raw))), ("0", "-1"), ("0x10", "1e3")])
    _externalize(tensor, _WEIGHTS, offset, length)
    description = (
        f"{base.name}: initializer {tensor.name!r} external data {_WEIGHTS} offset {offset!r}, length {length!r}"
    )
    return _Out(description, files={**base.files(model), _WEIGHTS: raw})


def _back_inside(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    raw = tensor.raw_data
    location = ctx.pick([f"sub/../{_WEIGHTS}", f"../{ctx.name}/{_WEIGHTS}", f"./sub/./../{_WEIGHTS}"])
    _externalize(tensor, location, 0, len(raw))
    description = f"{base.name}: initializer {tensor.name!r} external data location {location!r}, which resolves inside"
    return _Out(description, files={**base.files(model), _WEIGHTS: raw}, dirs=("sub",))


def _folder_location(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    location = ctx.pick(["", ".", "test_data_set_0", "/"])
    _externalize(tensor, location)
    description = f"{base.name}: initializer {tensor.name!r} external data location {location!r} (a folder or nothing)"
    return _Out(description, files=base.files(model))


def _member(name: str, data: bytes | None = None, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if data is not None and kind == tarfile.REGTYPE else 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


Members = list[tuple[tarfile.TarInfo, bytes | None]]


def _model_members(folder: str, files: dict[str, bytes]) -> Members:
    """A model folder as archive members: the folder, its subfolders, its files (sorted)."""
    members: Members = [(_member(f"{folder}/", kind=tarfile.DIRTYPE), None)] if folder else []
    seen = set()
    for rel in sorted(files):
        parent = rel.rpartition("/")[0]
        if parent and parent not in seen:
            seen.add(parent)
            members.append((_member(f"{folder}/{parent}/".lstrip("/"), kind=tarfile.DIRTYPE), None))
        members.append((_member(f"{folder}/{rel}".lstrip("/"), files[rel]), files[rel]))
    return members


def _tar(members: Members, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() and data is not None else None)
    return buffer.getvalue()


def _raw_members(members: Members) -> bytes:
    """Members as tar blocks with no end-of-archive marker, so more (or a cut-off member) can follow."""
    out = bytearray()
    for info, data in members:
        out += info.tobuf(tarfile.GNU_FORMAT)
        if info.isreg() and data:
            out += data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)
    return bytes(out)


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _archive(description: str, members: Members, fmt: int = tarfile.GNU_FORMAT) -> _Out:
    return _Out(description, layout="tar.gz", blob=_gz(_tar(members, fmt)))


def _tar_reaches(how: str) -> Variant:
    """A valid model archive with one more member that would land on (or write through to) the canary."""

    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        members = _model_members(ctx.name, base.files())
        payload = b"written by an archive member that escaped its folder\n"
        if how == "traversal":
            name = ctx.canary_deep()
            members.append((_member(name, payload), payload))
            what = f"a member named {name!r}"
        elif how == "absolute":
            name = str(ctx.canary)
            members.append((_member(name, payload), payload))
            what = f"a member with the absolute name {name!r}"
        else:
            link = f"{ctx.name}/{_WEIGHTS}"
            kind = tarfile.SYMTYPE if how == "symlink" else tarfile.LNKTYPE
            members.append((_member(link, kind=kind, link=str(ctx.canary)), None))
            members.append((_member(link, payload), payload))
            what = f"a {how} member {link!r} -> {str(ctx.canary)!r}, then a file of the same name written through it"
        return _archive(f"{base.name}: archive with {what}", members)

    return variant


_ESCAPE = (
    _external_at(lambda c: str(c.canary), "the canary's absolute path"),
    _external_at(_Ctx.canary_rel, "relative, up out of the sandbox to the canary"),
    _link_weights(relative=False),
    _tar_reaches("traversal"),
    _bounds("offset"),
    _external_at(_Ctx.canary_deep, "40 levels of '..' then the canary's path"),
    _link_weights(relative=True),
    _linked_folder,
    _tar_reaches("absolute"),
    _linked_model,
    _linked_test_data,
    _bounds("length"),
    _back_inside,
    _tar_reaches("symlink"),
    _garbage_bounds,
    _external_at(lambda c: f"{c.canary}\x00{_WEIGHTS}", "the canary's path, a NUL byte, then weights.bin"),
    _test_data_external,
    _tar_reaches("hardlink"),
    _folder_location,
)


# ------------------------------------------------------------------------------------------- archive


def _valid_archive(ctx: _Ctx) -> tuple[_Base, bytes]:
    base = ctx.base()
    return base, _gz(_tar(_model_members(ctx.name, base.files())))


def _gzip_truncated(ctx: _Ctx) -> _Out:
    base, blob = _valid_archive(ctx)
    cut = ctx.randint(1, len(blob))
    return _Out(f"{base.name}: valid .tar.gz ({len(blob)} bytes) cut to {cut} bytes", layout="tar.gz", blob=blob[:cut])


def _gzip_flipped(ctx: _Ctx) -> _Out:
    base, blob = _valid_archive(ctx)
    flipped, count = _flip_some(ctx, blob, low=10)  # past the gzip header: a deflate or CRC error
    return _Out(f"{base.name}: valid .tar.gz with {count} bytes XORed", layout="tar.gz", blob=flipped)


def _not_gzip(ctx: _Ctx) -> _Out:
    base = ctx.base()
    if ctx.randint(0, 2):
        return _Out(f"{base.name}: a .tar.gz that is the serialized model", layout="tar.gz", blob=base.serialized())
    size = ctx.randint(1, 2048)
    return _Out(f"a .tar.gz of {size} random bytes", layout="tar.gz", blob=ctx.rng.bytes(size))


def _parent_member(ctx: _Ctx) -> _Out:
    base = ctx.base()
    members = _model_members(ctx.name, base.files())
    name = ctx.pick(["../escape.txt", f"{ctx.name}/../../escape.txt", f"../{ctx.name}/model.onnx"])
    members.insert(ctx.randint(0, len(members) + 1), (_member(name, b"escaped\n"), b"escaped\n"))
    return _archive(f"{base.name}: archive with a member named {name!r}", members)


def _absolute_member(ctx: _Ctx) -> _Out:
    base = ctx.base()
    members = _model_members(ctx.name, base.files())
    data = b"written by an absolute archive member\n"
    members.append((_member(str(ctx.canary), data), data))
    return _archive(f"{base.name}: archive with an absolute member name {str(ctx.canary)!r}", members)


def _symlink_member(ctx: _Ctx) -> _Out:
    base = ctx.base()
    model = base.copy()
    tensor = ctx.pick(_float_inits(model))
    _externalize(tensor, _WEIGHTS)
    members = _model_members(ctx.name, base.files(model))
    link = f"{ctx.name}/{_WEIGHTS}"
    members.append((_member(link, kind=tarfile.SYMTYPE, link=str(ctx.canary)), None))
    description = (
        f"{base.name}: archive whose {link!r} (external data of {tensor.name!r}) is a symlink member to the canary"
    )
    return _archive(description, members)


def _huge_member(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = base.files()
    model = files.pop("model.onnx")
    header = _member(f"{ctx.name}/model.onnx", model)
    header.size = _HUGE  # GNU base-256 size field: the header alone claims a terabyte
    raw = _raw_members(_model_members(ctx.name, files)) + header.tobuf(tarfile.GNU_FORMAT) + (model * 2)[:1024]
    description = (
        f"{base.name}: archive whose model.onnx header claims {_HUGE} bytes; 1 KB follows and the archive ends"
    )
    return _Out(description, layout="tar.gz", blob=_gz(raw))


def _sparse_member(ctx: _Ctx) -> _Out:
    base = ctx.base()
    files = base.files()
    model = files.pop("model.onnx")
    members = _model_members(ctx.name, files)
    sparse_map = f"1\n0\n{len(model)}\n".encode().ljust(tarfile.BLOCKSIZE, b"\0")
    info = _member(f"{ctx.name}/GNUSparseFile.0/model.onnx", sparse_map + model)
    info.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": f"{ctx.name}/model.onnx",
        "GNU.sparse.realsize": str(_HUGE),
    }
    members.append((info, sparse_map + model))
    description = (
        f"{base.name}: archive whose model.onnx is a PAX sparse member of real size {_HUGE} ({len(model)} bytes stored)"
    )
    return _archive(description, members, tarfile.PAX_FORMAT)


def _no_model_member(ctx: _Ctx) -> _Out:
    base = ctx.base()
    extra = {"README.txt": b"no model here\n"} if ctx.randint(0, 2) else {}
    return _archive(
        f"{base.name}: archive with test data but no model.onnx",
        _model_members(ctx.name, {**base.data_files(), **extra}),
    )


def _special_model(kind: bytes, label: str) -> Variant:
    def variant(ctx: _Ctx) -> _Out:
        base = ctx.base()
        members = _model_members(ctx.name, base.data_files())
        members.append((_member(f"{ctx.name}/model.onnx", kind=kind), None))
        return _archive(f"{base.name}: archive whose model.onnx is {label}", members)

    return variant


def _many_members(ctx: _Ctx) -> _Out:
    base = ctx.base()
    count = ctx.randint(10_001, 10_500)
    members = _model_members(ctx.name, base.files())
    filler = f"{ctx.name}/filler.txt"  # one name over and over: identical headers gzip to almost nothing
    members += [(_member(filler), b"")] * count
    description = f"{base.name}: archive with {count} copies of an empty member {filler!r} beside the model"
    return _archive(description, members)


def _model_at_root(ctx: _Ctx) -> _Out:
    base = ctx.base()
    return _archive(
        f"{base.name}: archive with model.onnx and test data at its root, no folder", _model_members("", base.files())
    )


def _model_twice(ctx: _Ctx) -> _Out:
    base = ctx.base()
    members = _model_members(ctx.name, base.files())
    data = base.serialized()
    cut = data[: ctx.randint(1, len(data))]
    members.append((_member(f"{ctx.name}/model.onnx", cut), cut))
    return _archive(f"{base.name}: archive with model.onnx twice, the second cut to {len(cut)} bytes", members)


_ARCHIVE = (
    _gzip_truncated,
    _parent_member,
    _absolute_member,
    _symlink_member,
    _huge_member,
    _no_model_member,
    _gzip_flipped,
    _sparse_member,
    _special_model(tarfile.FIFOTYPE, "a FIFO"),
    _not_gzip,
    _special_model(tarfile.DIRTYPE, "a folder"),
    _many_members,
    _model_at_root,
    _model_twice,
)


# ---------------------------------------------------------------------------------------------- driver

_VARIANTS: dict[str, tuple[Variant, ...]] = {
    "truncated": _TRUNCATED,
    "bitflip": _BITFLIP,
    "wrong_dtype": _WRONG_DTYPE,
    "shape_mismatch": _SHAPE_MISMATCH,
    "dangling_input": _DANGLING_INPUT,
    "cycle": _CYCLE,
    "huge_dims": _HUGE_DIMS,
    "unknown_op": _UNKNOWN_OP,
    "escape": _ESCAPE,
    "duplicate_names": _DUPLICATE_NAMES,
    "empty_graph": _EMPTY_GRAPH,
    "bad_test_data": _BAD_TEST_DATA,
    "archive": _ARCHIVE,
}

MUTATIONS: tuple[str, ...] = tuple(_VARIANTS)


def _inside(root: Path, path: Path) -> None:
    """Raise unless `path` is lexically under `root` and its nearest existing ancestor resolves inside it."""
    relative = path.relative_to(root)  # ValueError when not under root
    if ".." in relative.parts:
        raise ValueError(f"refusing to write {path}: '..' in its path")
    existing = path.parent
    while not os.path.lexists(existing):
        existing = existing.parent
    real = Path(os.path.realpath(existing))
    if real != root and root not in real.parents:
        raise ValueError(f"refusing to write {path}: {existing} resolves outside the sandbox")


def _write_file(root: Path, path: Path, data: bytes) -> None:
    _inside(root, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write(root: Path, target: Path, out: _Out) -> None:
    if out.layout != "folder":
        _write_file(root, target, out.blob)
        return
    _inside(root, target / "model.onnx")
    target.mkdir(parents=True)
    for rel in out.dirs:
        _inside(root, target / rel)
        (target / rel).mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(out.files.items()):
        _write_file(root, target / rel, data)
    for rel, link_to in sorted(out.symlinks.items()):  # last: nothing is written below a link
        _inside(root, target / rel)
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(link_to, target / rel)


def _canary_path(root: Path, canary: Path | None) -> Path:
    if canary is None:
        return root.parent / f"{root.name}.onnx_fuzz_no_such_canary"
    resolved = Path(os.path.realpath(canary))
    if resolved == root or root in resolved.parents:
        raise ValueError(f"the canary {canary} must be outside the sandbox {root}")
    return resolved


def make_mutants(sandbox: Path, count: int, seed: int = 0, canary: Path | None = None) -> list[Mutant]:
    """Write `count` mutated models under `sandbox` (an empty or missing folder) and describe them.

    Mutant i is of kind MUTATIONS[i % len(MUTATIONS)], named `<kind>_<i:03d>`, in `sandbox/<kind>/`;
    its parameters come from a generator seeded with (seed, i). `canary` (a file outside the sandbox)
    is what the escape and archive kinds point at; None: a path beside the sandbox that does not exist.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, got {count}")
    sandbox = Path(sandbox)
    target_canary = _canary_path(Path(os.path.realpath(sandbox)), canary)
    sandbox.mkdir(parents=True, exist_ok=True)
    if any(sandbox.iterdir()):
        raise FileExistsError(f"the sandbox {sandbox} is not empty")
    root = Path(os.path.realpath(sandbox))
    bases = _bases()
    mutants = []
    for index in range(count):
        kind = MUTATIONS[index % len(MUTATIONS)]
        variants = _VARIANTS[kind]
        variant = variants[(index // len(MUTATIONS)) % len(variants)]
        name = f"{kind}_{index:03d}"
        rng = np.random.default_rng([seed % (1 << 64), index])
        ctx = _Ctx(rng, name, root / kind / name, target_canary, bases)
        out = variant(ctx)
        suffix = {"folder": "", "onnx": ".onnx", "tar.gz": ".tar.gz"}[out.layout]
        path = root / kind / f"{name}{suffix}"
        _write(root, path, out)
        description = " ".join(out.description.split())  # one line, whatever a location held
        mutants.append(Mutant(name, kind, sandbox / kind / f"{name}{suffix}", kind, description))
    return mutants
