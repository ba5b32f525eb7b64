"""The first node whose output leaves its bound, found three ways.

- runtime: ORT's value of every tensor against the reference evaluator's. A node whose output
  differs is checked on its own: the evaluator runs that one node on ORT's own inputs, in float32
  and in float64, so the node's error is judged against its own float32 floor, not against what
  upstream rounding accumulated.
- module: ORT's tensors against the eager torch model's module outputs, matched by the name
  scopes the exporters write (TorchScript node names "/layer1/layer1.0/conv1/Conv", torch.export's
  `pkg.torch.onnx.name_scopes` metadata).
- named: a transformed or converted graph against the graph it came from, by tensor name.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import onnx

from suite.judge.floor import FLOOR_FACTOR
from suite.judge.triage.findings import Divergence
from suite.judge.triage.intermediates import GraphValues, as_array, failing_node, node_reads

_EPS32 = float(np.finfo(np.float32).eps)
# A tensor is looked at closer when it differs by more than this share of its largest magnitude:
# float32 rounding accumulated over a deep graph stays around 1e-6.
SUSPECT = 1e-5
# A module's or a transformed tensor's share of error past which it diverges (no float64 run of
# its own exists on those sides, so the rule is relative to the tensor's magnitude).
DIVERGED = 1e-4
RUNTIME_AGAINST = "ONNX's reference evaluator running the same node on ONNX Runtime's inputs"


def tensor_error(reference: Any, candidate: Any) -> tuple[float, float, str]:
    """(max abs error, that error over the reference's largest magnitude, problem) of two tensors.

    problem is "" for comparable float tensors, else what makes them differ outright.
    """
    ref, cand = as_array(reference), as_array(candidate)
    if ref is None or cand is None:
        return 0.0, 0.0, ""  # sequences and maps are compared at the outputs, not per node
    if ref.shape != cand.shape:
        return float("inf"), float("inf"), f"shape {cand.shape} where {ref.shape} was expected"
    if ref.size == 0:
        return 0.0, 0.0, ""
    if ref.dtype.kind not in "fc" or cand.dtype.kind not in "fc":
        equal = np.array_equal(ref, cand)
        return (0.0, 0.0, "") if equal else (float("inf"), float("inf"), "exact values differ")
    r = ref.astype(np.float64)
    c = cand.astype(np.float64)
    finite = np.isfinite(r) & np.isfinite(c)
    if not np.array_equal(np.isfinite(r), np.isfinite(c)):
        return float("inf"), float("inf"), "NaN or Inf where the other side is finite"
    err = float(np.max(np.abs(r[finite] - c[finite]), initial=0.0))
    scale = float(np.max(np.abs(r[finite]), initial=0.0))
    return err, err / max(scale, 1e-30), ""


def node_source(node: onnx.NodeProto) -> str:
    """The torch module path a node came from (torch.export's metadata or TorchScript's node name), or ""."""
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(prop.value)
            except (ValueError, SyntaxError):
                return ""
            return str(scopes[-2]) if len(scopes) >= 2 else ""
    if not node.name.startswith("/"):
        return ""
    path = ""
    for part in node.name.strip("/").split("/")[:-1]:
        path = part if (not path or part.startswith(path + ".")) else f"{path}.{part}"
    return path


def op_name(node: onnx.NodeProto) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}"


def run_node(model: onnx.ModelProto, node: onnx.NodeProto, values: Mapping[str, Any], wide: bool) -> list[Any]:
    """`node` alone on the reference evaluator, on `values` (widened to float64 when `wide`)."""
    from onnx.reference import ReferenceEvaluator

    # An If or Loop reads outer-scope tensors inside its subgraphs: they become inputs of the one-node graph.
    names = [n for n in node.input if n] + sorted(n for n in node_reads(node) if n not in node.input and n in values)
    names = list(dict.fromkeys(names))
    feeds = {n: np.asarray(values[n]) for n in names}
    if wide:
        feeds = {n: v.astype(np.float64) if v.dtype == np.float32 else v for n, v in feeds.items()}
    graph = onnx.helper.make_graph(
        [node],
        "one_node",
        [
            onnx.helper.make_tensor_value_info(n, onnx.helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
            for n, v in feeds.items()
        ],
        [onnx.ValueInfoProto(name=o) for o in node.output if o],
    )
    one = onnx.helper.make_model(graph, opset_imports=model.opset_import, functions=model.functions)
    one.ir_version = model.ir_version
    return list(ReferenceEvaluator(one).run(None, feeds))


def first_runtime_divergence(model: onnx.ModelProto, ort: GraphValues, reference: GraphValues) -> Divergence | None:
    """The first node ONNX Runtime computes wrongly on its own inputs, or where ORT raised."""
    if not ort.ok:
        named = failing_node(ort.error)
        node = next((n for n in model.graph.node if named and n.name == named[1]), None)
        return Divergence(
            named[1] if named else "",
            named[0] if named else "",
            node.output[0] if node is not None and node.output else "",
            node_source(node) if node is not None else "",
            None,
            None,
            f"ONNX Runtime raised: {ort.error.splitlines()[0][:300]}",
            "ONNX Runtime's error names the node" if named else "none: ONNX Runtime's error names no node",
        )
    for node in model.graph.node:
        outputs = [o for o in node.output if o and o in ort.values and o in reference.values]
        suspect = [o for o in outputs if _suspect(reference.values[o], ort.values[o])]
        if not suspect:
            continue
        if any(n and n not in ort.values for n in node_reads(node)):
            err, _share, _problem = tensor_error(reference.values[suspect[0]], ort.values[suspect[0]])
            return Divergence(
                node.name,
                op_name(node),
                suspect[0],
                node_source(node),
                err,
                None,
                "ONNX's reference evaluator on the same graph and inputs (the node was not rerun alone: "
                "ONNX Runtime did not return all it reads)",
                "tensor names (the same graph)",
            )
        local = _local_check(model, node, ort.values)
        if local is not None:
            return local
    return None


def _suspect(reference: Any, candidate: Any) -> bool:
    _err, share, problem = tensor_error(reference, candidate)
    return bool(problem) or share > SUSPECT


def _local_check(model: onnx.ModelProto, node: onnx.NodeProto, ort: Mapping[str, Any]) -> Divergence | None:
    """`node` rerun alone on ORT's inputs: a Divergence when ORT's output leaves the node's own bound."""
    try:
        ref32 = run_node(model, node, ort, wide=False)
    except Exception:  # noqa: BLE001 - an op the evaluator lacks: the node cannot be judged alone
        return None
    try:
        ref64 = run_node(model, node, ort, wide=True)
    except Exception:  # noqa: BLE001 - no float64 run of this op: judged by ulps alone
        ref64 = None
    for index, name in enumerate(o for o in node.output if o):
        if name not in ort or index >= len(ref32):
            continue
        err, _share, problem = tensor_error(ref32[index], ort[name])
        if problem:
            return _divergence(node, name, err, None, problem)
        ref = as_array(ref32[index])
        if ref is None or ref.dtype.kind not in "fc" or ref.size == 0:
            continue
        floor = 0.0
        if ref64 is not None and index < len(ref64):
            floor = tensor_error(ref64[index], ref)[0]
        magnitude = float(np.max(np.abs(ref[np.isfinite(ref)]), initial=0.0))
        bound = FLOOR_FACTOR * floor + 4 * _EPS32 * magnitude
        if err > bound:
            unit = floor if floor > 0 else _EPS32 * max(magnitude, 1e-30)
            return _divergence(node, name, err, err / unit, "")
    return None


def _divergence(node: onnx.NodeProto, output: str, err: float, ratio: float | None, problem: str) -> Divergence:
    against = RUNTIME_AGAINST + (f" ({problem})" if problem else "")
    return Divergence(
        node.name, op_name(node), output, node_source(node), err, ratio, against, "tensor names (the same graph)"
    )


def first_named_divergence(
    model: onnx.ModelProto, candidate: GraphValues, before: GraphValues, against: str
) -> Divergence | None:
    """The first node of `model` (a transformed or converted graph) whose output differs from the
    tensor of the same name in the graph it came from."""
    for node in model.graph.node:
        for name in (o for o in node.output if o):
            if name not in candidate.values or name not in before.values:
                continue
            err, share, problem = tensor_error(before.values[name], candidate.values[name])
            if problem.startswith("shape"):
                continue  # the name was reused for another tensor (a layout change): not a match
            if problem or share > DIVERGED:
                ratio = share / _EPS32 if not problem else None
                return Divergence(
                    node.name,
                    op_name(node),
                    name,
                    node_source(node),
                    err,
                    ratio,
                    against,
                    "tensor names shared by both graphs (error over float32 ulps of the tensor's magnitude)",
                )
    return None


@dataclass(frozen=True)
class EagerModule:
    """One torch submodule's first call in eager: its tensor inputs and outputs, by path."""

    path: str
    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]
    # The output's quantization scale, for a quantized module (its outputs are the integers): an
    # error of a step is rounding.
    scale: float | None = None
    floor: float | None = None  # max |float32 - float64| of its outputs (a float64 copy fed widened inputs)
    input_floor: float | None = None  # the same of its inputs


@dataclass(frozen=True)
class ModuleMatch:
    """A module whose graph outputs differ from eager's while its graph inputs match eager's."""

    module: EagerModule
    divergence: Divergence
    inputs: dict[str, np.ndarray]  # the scope's input tensors, fed with eager's own values where matched
    output: np.ndarray  # eager's value of the diverging output
    atol: float  # how far from it a right result may land (0 for a quantized tensor's integers)


def _in_scope(scope: str, module: str) -> bool:
    return scope == module or scope.startswith(module + ".")


def _scope_boundary(model: onnx.ModelProto, module: str) -> tuple[list[onnx.NodeProto], list[str], list[str]]:
    """The module's nodes, the tensors they read from outside (no initializers), and those they hand out."""
    nodes = [n for n in model.graph.node if _in_scope(node_source(n), module)]
    produced = {o for n in nodes for o in n.output}
    constant = {t.name for t in model.graph.initializer}
    constant |= {o for n in model.graph.node if n.op_type == "Constant" for o in n.output}
    reads = list(dict.fromkeys(i for n in nodes for i in n.input if i and i not in produced and i not in constant))
    outside = [n for n in model.graph.node if not _in_scope(node_source(n), module)]
    used_outside = {i for n in outside for i in n.input} | {o.name for o in model.graph.output}
    hands = [o for n in nodes for o in n.output if o in used_outside]
    return nodes, reads, hands


def _by_shape(names: Sequence[str], arrays: Sequence[np.ndarray], values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Graph tensors matched to eager arrays: same shape and kind of dtype, the closest value first,
    each used once (a module's many same-shaped inputs, such as masks, find their own tensor)."""
    pairs = []
    for name in names:
        value = as_array(values.get(name))
        if value is None:
            continue
        for index, array in enumerate(arrays):
            if array.shape == value.shape and (array.dtype.kind in "fc") == (value.dtype.kind in "fc"):
                err, _, problem = tensor_error(array, value)
                pairs.append((bool(problem), err, name, index))
    matched: dict[str, np.ndarray] = {}
    used: set[int] = set()
    for _, _, name, index in sorted(pairs, key=lambda p: (p[0], p[1])):
        if name not in matched and index not in used:
            matched[name] = arrays[index]
            used.add(index)
    return matched


def _diverges(eager: np.ndarray, value: Any, floor: float | None, quantized: bool = False) -> tuple[float, bool]:
    """(error, whether it leaves the bound): within FLOOR_FACTOR of the module's own float32 floor
    where a float64 run gave one, else DIVERGED of the tensor's magnitude; a quantized tensor's
    integers (error in steps) must be equal."""
    got = as_array(value)
    if quantized and got is not None and got.shape == eager.shape and got.dtype.kind in "iu":
        steps = float(np.max(np.abs(got.astype(np.int64) - eager.astype(np.int64)), initial=0))
        return steps, steps > 0
    err, _, problem = tensor_error(eager, value)
    return err, bool(problem) or err > _atol(eager, floor, quantized)


def _atol(eager: np.ndarray, floor: float | None, quantized: bool) -> float:
    """The bound of a module's tensor: FLOOR_FACTOR of its float32 floor (plus a few ulps of its
    magnitude) where a float64 run gave one, else DIVERGED of its magnitude; 0 for integers."""
    if quantized or eager.dtype.kind not in "fc":
        return 0.0
    magnitude = float(np.max(np.abs(eager), initial=0.0))
    if floor is not None:
        return FLOOR_FACTOR * floor + 4 * _EPS32 * magnitude
    return DIVERGED * magnitude


def first_module_divergence(
    model: onnx.ModelProto, ort: GraphValues, eager: Sequence[EagerModule]
) -> tuple[ModuleMatch | None, str]:
    """The smallest module whose graph inputs match eager's and whose graph outputs do not.

    Such a module holds the fault in its own nodes: a module whose inputs already differ only
    passes on an error made upstream. Returns the match and how it was made.
    """
    producers = {o: (i, n) for i, n in enumerate(model.graph.node) for o in n.output}
    found: list[tuple[int, int, ModuleMatch]] = []
    matched_modules = 0
    for module in eager:
        nodes, reads, hands = _scope_boundary(model, module.path)
        if not nodes:
            continue
        outputs = _by_shape(hands, module.outputs, ort.values)
        if not outputs:
            continue
        matched_modules += 1
        quantized = module.scale is not None
        diverging = [(n, a) for n, a in outputs.items() if _diverges(a, ort.values[n], module.floor, quantized)[1]]
        if not diverging:
            continue
        inputs = _by_shape(reads, module.inputs, ort.values)
        if any(_diverges(a, ort.values[n], module.input_floor)[1] for n, a in inputs.items()):
            continue  # the error came in with the inputs: upstream of this module
        name, array = diverging[0]
        err = _diverges(array, ort.values[name], module.floor, quantized)[0]
        node = producers[name][1]
        own = sum(1 for n in nodes if node_source(n) == module.path)
        if quantized:
            ratio, unit = err, f" (in steps of its quantization scale {module.scale:.3g})"
        elif module.floor:
            ratio, unit = err / module.floor, " (error over the module's own float32 floor)"
        else:
            ratio, unit = None, ""
        divergence = Divergence(
            node.name, op_name(node), name, f"module {module.path} ({len(nodes)} nodes, {own} of its own)", err,
            ratio, f"the eager torch module {module.path}'s output, the module fed the same inputs as in eager{unit}",
            "",
        )  # fmt: skip
        feeds = {n: inputs.get(n, ort.values[n]) for n in reads if n in ort.values}
        atol = _atol(array, module.floor, quantized)
        found.append((len(nodes), producers[name][0], ModuleMatch(module, divergence, feeds, array, atol)))
    how = (
        f"eager module outputs and inputs matched by name scope and shape ({matched_modules} of {len(eager)} "
        "modules); the smallest module with matching inputs and differing outputs"
    )
    if not found:
        return None, how + ": none (the error enters between modules, or no module matched)"
    best = min(found, key=lambda f: (f[0], f[1]))[2]
    return replace(best, divergence=replace(best.divergence, match=how)), how


# Ops whose constant input fixes an output size: where a traced size ends up in a graph.
_SIZE_TAKERS = {"Reshape", "Expand", "Tile", "Slice", "ConstantOfShape", "Range", "Resize", "Split", "Pad"}


def baked_size(model: onnx.ModelProto, failed: str, sizes: Mapping[str, tuple[int, int]]) -> Divergence | None:
    """The node upstream of tensor `failed` that holds a size of the export as a constant.

    `sizes`: each named dim whose size changed, as (size at export, size here). A Reshape (or
    Expand, Tile ...) whose constant shape input holds the export's size is where a traced size
    was baked in: the node that fails downstream only meets its wrong shape.
    """
    home = {before for before, now in sizes.values() if before != now}
    if not home or not failed:
        return None
    constants = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                constants[node.output[0]] = onnx.numpy_helper.to_array(value)
    producer = {o: n for n in model.graph.node for o in n.output}
    seen: set[str] = set()
    frontier = [failed]
    while frontier:
        name = frontier.pop(0)
        node = producer.get(name)
        if node is None or name in seen:
            continue
        seen.add(name)
        if node.op_type in _SIZE_TAKERS:
            for inp in node.input[1:]:
                held = constants.get(inp)
                if held is not None and held.dtype.kind in "iu" and home & {int(v) for v in held.ravel()}:
                    dims = ", ".join(f"{d} {b} (now {n})" for d, (b, n) in sizes.items() if b != n)
                    return Divergence(
                        node.name, op_name(node), node.output[0], node_source(node), None, None,
                        f"its constant input {inp!r} = {held.tolist()} holds the export's size of {dims}",
                        "the graph's constants, upstream of the node ONNX Runtime failed in",
                    )  # fmt: skip
        frontier.extend(i for i in node.input if i)
    return None
