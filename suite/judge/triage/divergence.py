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
from typing import Any

import numpy as np
import onnx

from suite.judge.floor import FLOOR_FACTOR
from suite.judge.triage.findings import Divergence
from suite.judge.triage.intermediates import GraphValues, as_array, failing_node

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

    names = list(dict.fromkeys(n for n in node.input if n))
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


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)


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
        if _has_subgraph(node) or any(n and n not in ort.values for n in node.input):
            err, _share, _problem = tensor_error(reference.values[suspect[0]], ort.values[suspect[0]])
            return Divergence(
                node.name,
                op_name(node),
                suspect[0],
                node_source(node),
                err,
                None,
                "ONNX's reference evaluator on the same graph and inputs (the node was not rerun alone: "
                "it has subgraphs)",
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


def module_outputs(model: onnx.ModelProto) -> dict[str, list[str]]:
    """For each module path in the graph's name scopes, the tensors its nodes hand to the rest of the graph."""
    scope_of = {i: node_source(n) for i, n in enumerate(model.graph.node)}
    producer_scope: dict[str, str] = {}
    for i, node in enumerate(model.graph.node):
        for o in node.output:
            producer_scope[o] = scope_of[i]
    graph_outputs = {o.name for o in model.graph.output}
    consumers: dict[str, list[str]] = {}
    for i, node in enumerate(model.graph.node):
        for name in node.input:
            consumers.setdefault(name, []).append(scope_of[i])
    result: dict[str, list[str]] = {}
    for name, scope in producer_scope.items():
        if not scope:
            continue
        parts = scope.split(".")
        prefixes = {".".join(parts[: k + 1]) for k in range(len(parts))}
        for module in prefixes:
            inside = lambda s, m=module: s == m or s.startswith(m + ".")  # noqa: E731
            if name in graph_outputs or any(not inside(s) for s in consumers.get(name, [])):
                result.setdefault(module, []).append(name)
    return result


def first_module_divergence(
    model: onnx.ModelProto, ort: GraphValues, eager: Sequence[tuple[str, Sequence[np.ndarray]]]
) -> tuple[Divergence | None, str]:
    """The first module (in graph order) whose output on ONNX Runtime differs from the eager module's.

    Returns the divergence and how the match was made ("k of n modules matched by name scope").
    """
    outputs = module_outputs(model)
    producers = {o: (i, n) for i, n in enumerate(model.graph.node) for o in n.output}
    matched: list[tuple[int, int, str, str, np.ndarray]] = []
    for path, arrays in eager:
        names = outputs.get(path, [])
        if len(names) != len(arrays) or not names:
            continue
        for name, array in zip(names, arrays, strict=True):
            value = as_array(ort.values.get(name))
            if value is not None and value.shape == array.shape:
                matched.append((producers[name][0], -len(path.split(".")), path, name, array))
    how = f"eager module outputs matched by name scope ({len({m[2] for m in matched})} of {len(eager)} modules)"
    for _index, _, path, name, array in sorted(matched, key=lambda m: (m[0], m[1])):
        err, share, problem = tensor_error(array, ort.values[name])
        if problem or share > DIVERGED:
            node = producers[name][1]
            count = sum(1 for n in model.graph.node if node_source(n) == path or node_source(n).startswith(path + "."))
            return (
                Divergence(
                    node.name,
                    op_name(node),
                    name,
                    f"module {path} ({count} nodes)",
                    err,
                    None,
                    f"the eager torch module {path}'s output",
                    how,
                ),
                how,
            )
    return None, how


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
