"""ONNX Runtime's failures as a row's status and message.

What ONNX Runtime does not implement is `unsupported`, named: an op at a version or type it has
no kernel for, an element type its Python API cannot hand over as numpy. That is a fact about
ONNX Runtime, not a fault of the model or the exporter; every other failure is a `runtime_error`
with ORT's informative line. ORT's refusals are told by their own wording, so another runner's
error reads as a `runtime_error` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from suite.core.budget import Budget, current_budget, out_of_memory, over_budget_message, refusal_line
from suite.core.messages import first_line
from suite.core.record import Status

if TYPE_CHECKING:
    from onnx import NodeProto

# No kernel registered for a node's op, since-version and input types (session creation):
#   ORT 1.32: "[ONNXRuntimeError] : 9 : NOT_IMPLEMENTED : Could not find an implementation for
#              AveragePool(1) node with name 'pool'"
#   kernel_registry_manager.cc: "Failed to find kernel for com.microsoft.Gelu(1) (node:'g' ep:'...'). ...
#              but the node in the model has the following type (tensor(float16))"
_NO_KERNEL = re.compile(
    r"(?:Could not find an implementation for|Failed to find kernel for) (?P<op>[\w.]+)\((?P<version>\d+)\)"
    r"(?: node with name '(?P<name>[^']*)'| \(node:'(?P<node>[^']*)')?"
)
_KERNEL_TYPE = re.compile(r"(?:has the following type \(|\btype \(?)(?P<type>tensor\(\w+\))")
# Any other NOT_IMPLEMENTED: a kernel refusing an attribute or shape it does not implement.
_NOT_IMPLEMENTED = re.compile(r"\[ONNXRuntimeError\] : \d+ : NOT_IMPLEMENTED : ")
_DEFAULT_DOMAINS = frozenset({"", "ai.onnx"})
# The Python API refusing a numpy array it has no ONNX Runtime type for (bfloat16, float8, int4 from
# ml_dtypes: user-defined numpy types, numbered from 256 in the order they were registered).
_NUMPY_FEED = re.compile(r"Numpy_type (?P<num>\d+) can't be converted to MLDataType")
# A value type this ONNX Runtime build has no support for at all (complex tensors, nested sequences),
# when it loads the model: "MLDataType for: tensor(complex64) is not currently registered or supported".
_UNREGISTERED_TYPE = re.compile(r"MLDataType for: (?P<type>\S+) is not currently registered or supported")
# An op of a domain or version ONNX Runtime does not know at all (preview and training ops):
#   "Fatal error: ai.onnx.preview.training:Adagrad(-1) is not a registered function/op"
_UNREGISTERED_OP = re.compile(r"(?P<op>[\w.]+:\w+|\w+)\((?P<version>-?\d+)\) is not a registered function/op")
# A kernel refusing a mode it does not implement, in its own words:
#   "layout_ == 0 was false. Batchwise recurrent operations (layout == 1) are not supported. If you ..."
_KERNEL_REFUSAL = re.compile(r"(?P<what>[A-Z][^.:]*?) (?:is|are) not (?:yet )?supported\b")
# LiteRT's interpreter (the TFLite hops run through this classification too) on a file that uses
# TensorFlow ops TFLite has no builtin for (onnx2tf writes GELU's Erf so): only a Flex delegate runs them.
#   "Select TensorFlow op(s), included in the given model, is(are) not supported by this interpreter. ...
#    See instructions: https://www.tensorflow.org/lite/guide/ops_selectNode number 54 (FlexErf) failed to prepare."
_SELECT_TF_OPS = re.compile(r"Select TensorFlow op\(s\), included in the given model, is\(are\) not supported")
_FLEX_NODE = re.compile(r"\(Flex(?P<op>\w+)\) failed to prepare")
# ... and an output it has no numpy type for: "No corresponding Numpy type for Tensor Type. bfloat16".
_NUMPY_OUTPUT = re.compile(r"No corresponding Numpy type for Tensor Type\. ?(?P<type>\w+)")


@dataclass(frozen=True)
class OrtFailure:
    """How an ONNX Runtime failure goes in a row."""

    status: Status
    line: str  # unsupported: what ORT lacks, the whole message; else ORT's informative line
    text: str = ""  # ORT's whole error text (its last clause often says the most)

    def message(self, context: str, whole: bool = False) -> str:
        """The row's message: an unsupported one says it all; an error's line follows `context`
        (with `whole`, ORT's whole text: the row's message is clipped later, from its middle)."""
        if self.status in (Status.UNSUPPORTED, Status.SKIP):
            return self.line
        return f"{context}: {self.text if whole and self.text else self.line}"


def ort_failure(exc: BaseException | str, model_path: Path | None = None) -> OrtFailure:
    """The status and line of an ONNX Runtime session creation or run failure (an allocation this
    process's memory budget refused is a skip saying so).

    `model_path`: the file the session was made from; where ORT does not say which input type it
    has no kernel for, the node's input types are read from it.
    """
    text = str(exc)
    budget = current_budget()
    if budget and out_of_memory("" if isinstance(exc, str) else type(exc).__name__, text):
        # This process's memory budget refused an allocation: not a verdict on the model (suite.core.budget).
        return OrtFailure(Status.SKIP, over_budget_message(Budget(budget), "ONNX Runtime", refusal_line(text)))
    refusal = (
        _no_kernel(text, model_path)
        or _numpy_output(text)
        or _unregistered_type(text)
        or _unregistered_op(text)
        or _not_implemented(text)
        or _select_tf_ops(text)
        or _kernel_refusal(text)
    )
    if refusal:
        return OrtFailure(Status.UNSUPPORTED, refusal)
    feed = _NUMPY_FEED.search(text)
    if feed:
        return _numpy_feed(int(feed["num"]), first_line(exc))
    return OrtFailure(Status.RUNTIME_ERROR, first_line(exc), text)


def _no_kernel(text: str, model_path: Path | None) -> str:
    """ "ONNX Runtime has no kernel for Add (opset 14) with type tensor(bfloat16)", or "" for other texts.

    ORT names the op's since-version (the version the model's opset gives it), not the model's opset.
    """
    match = _NO_KERNEL.search(text)
    if match is None:
        return ""
    op, version = match["op"], match["version"]
    name = match["name"] if match["name"] is not None else match["node"] or ""
    said = _KERNEL_TYPE.search(text, match.end())
    types = (said["type"],) if said else _input_types(model_path, op, name) if model_path else ()
    message = f"ONNX Runtime has no kernel for {op} (opset {version})"
    if types:
        message += f" with type{'s' if len(types) > 1 else ''} {', '.join(types)}"
    return f"{message} (node '{name}')" if name else message


def _input_types(model_path: Path, op: str, name: str) -> tuple[str, ...]:
    """The element types of the inputs of the node ORT named ("tensor(bfloat16)"), as the file declares
    or shape inference tells them; () where the node is not in the file's main graph (ORT made it while
    optimizing), or where its unnamed nodes of that op differ in types (which one ORT refused is unknown)."""
    import onnx

    try:
        model = onnx.shape_inference.infer_shapes(onnx.load(str(model_path), load_external_data=False))
    except Exception:  # noqa: BLE001 - the types only add to the message; any failure leaves them out
        return ()
    graph = model.graph
    elem_types = {v.name: v.type.tensor_type.elem_type for v in (*graph.input, *graph.value_info, *graph.output)}
    elem_types.update({t.name: t.data_type for t in graph.initializer})
    domain, _, op_type = op.rpartition(".")  # ORT names an op of another domain "com.microsoft.Gelu"
    domains = {domain} if domain else _DEFAULT_DOMAINS
    nodes = [n for n in graph.node if n.op_type == op_type and n.domain in domains and n.name == name]
    candidates = {_types_of(n, elem_types) for n in nodes}
    return candidates.pop() if len(candidates) == 1 else ()


def _types_of(node: NodeProto, elem_types: dict[str, int]) -> tuple[str, ...]:
    """The distinct element types of `node`'s given inputs, in input order, as ORT writes them."""
    from onnx import TensorProto

    found = [elem_types.get(name, 0) for name in node.input if name]
    names = [f"tensor({TensorProto.DataType.Name(t).lower()})" for t in found if t]
    return tuple(dict.fromkeys(names))


def _not_implemented(text: str) -> str:
    """ORT's line of any other NOT_IMPLEMENTED refusal, said to be one, or "" for other texts."""
    if _NOT_IMPLEMENTED.search(text) is None:
        return ""
    return f"ONNX Runtime does not implement this: {first_line(text)}"


def _select_tf_ops(text: str) -> str:
    """ "LiteRT's interpreter has no Flex delegate for the TensorFlow op Erf this TFLite file selects", or ""."""
    if _SELECT_TF_OPS.search(text) is None:
        return ""
    ops = sorted(set(_FLEX_NODE.findall(text)))
    named = f"the TensorFlow op{'s' if len(ops) > 1 else ''} {', '.join(ops)}" if ops else "TensorFlow ops"
    return f"LiteRT's interpreter has no Flex delegate for {named} this TFLite file selects (no TFLite builtin)"


def _unregistered_type(text: str) -> str:
    """ "ONNX Runtime does not support values of type tensor(complex64)", or "" for other texts."""
    match = _UNREGISTERED_TYPE.search(text)
    return f"ONNX Runtime does not support values of type {match['type']}" if match else ""


def _unregistered_op(text: str) -> str:
    """ "ONNX Runtime does not know the op ai.onnx.preview.training:Adagrad", or "" for other texts."""
    match = _UNREGISTERED_OP.search(text)
    return f"ONNX Runtime does not know the op {match['op']}" if match else ""


def _kernel_refusal(text: str) -> str:
    """ "ONNX Runtime does not support this: Batchwise recurrent operations (layout == 1) are not
    supported", for a refusal ORT's kernel states in its own words; "" for other texts. Only ORT's
    errors are read here (their "[ONNXRuntimeError]" or source-path frame says so)."""
    if "[ONNXRuntimeError]" not in text and "/onnxruntime" not in text:
        return ""
    match = _KERNEL_REFUSAL.search(text)
    return f"ONNX Runtime does not support this: {match.group(0)}" if match else ""


def _numpy_output(text: str) -> str:
    """ "ONNX Runtime's Python API cannot return a BFLOAT16 output as numpy", or "" for other texts."""
    match = _NUMPY_OUTPUT.search(text)
    if match is None:
        return ""
    return f"ONNX Runtime's Python API cannot return a {_onnx_type_named(match['type'])} output as numpy"


def _onnx_type_named(ort_name: str) -> str:
    """The ONNX element type of ORT's name for it ("bfloat16", "Float8E5M2", "Int4x2" packed two a byte)."""
    from onnx import TensorProto

    key = ort_name.lower().removesuffix("x2")
    names = {name.lower().replace("_", ""): name for name in TensorProto.DataType.keys()}
    return names.get(key, ort_name)


def _numpy_feed(num: int, line: str) -> OrtFailure:
    """A feed ORT's Python API refused: `unsupported` where ONNX has the element type, else an error."""
    dtype = _numpy_dtype(num)
    onnx_type = _onnx_type_of(dtype) if dtype is not None else ""
    if onnx_type:
        return OrtFailure(
            Status.UNSUPPORTED, f"ONNX Runtime's Python API cannot take a numpy {dtype} input (ONNX {onnx_type})"
        )
    return OrtFailure(Status.RUNTIME_ERROR, f"{line} (numpy {dtype})" if dtype is not None else line)


def _numpy_dtype(num: int) -> np.dtype | None:
    """The numpy dtype numbered `num` in this process: numpy's own, or ml_dtypes' (registered at import)."""
    kinds: list[type] = list(np.sctypeDict.values())
    try:
        import ml_dtypes

        kinds += [k for k in vars(ml_dtypes).values() if isinstance(k, type) and issubclass(k, np.generic)]
    except ImportError:
        pass
    for kind in kinds:
        try:
            dtype = np.dtype(kind)
        except TypeError:
            continue
        if dtype.num == num:
            return dtype
    return None


def _onnx_type_of(dtype: np.dtype) -> str:
    """The ONNX element type of a numpy dtype ("BFLOAT16"), or "" where ONNX has none."""
    from onnx import TensorProto, helper

    try:
        return TensorProto.DataType.Name(helper.np_dtype_to_tensor_dtype(dtype))
    except (KeyError, ValueError, TypeError):
        return ""
