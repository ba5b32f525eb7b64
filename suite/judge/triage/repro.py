"""Standalone repro folders for red cases: the smallest failing subgraph, or the failing export call.

A repro folder holds what an upstream maintainer needs and nothing of zoo-suite. For a graph:
model.onnx (the smallest subgraph around the first divergent node that still fails), its data in
the ONNX Model Zoo layout (test_data_set_0/input_<i>.pb, output_<i>.pb), versions.json, and
repro.py, which imports only onnx, onnxruntime and numpy. For an export: inputs.npz and a repro.py
that builds the model and repeats the export call. A folder is kept only when its repro.py
reproduces the failure in a fresh process: an in-process check can be fooled by state (a loaded
library, a cached session) that a maintainer would not have.
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

import zoo
from suite.judge.triage.findings import Repro
from suite.judge.triage.intermediates import node_reads
from suite.judge.triage.repro_scripts import (
    clean_env,
    keep_or_drop,
    out_of_bound,
    run_script,
    write_call_folder,
    write_export_folder,
    write_graph_folder,
)

CRASH = "crash"  # failure_text meaning "the process dies": only a fresh process can check it
# The checkout whose zoo and shims an export or converter script imports (its PYTHONPATH).
_CHECKOUT = Path(zoo.__file__).resolve().parent.parent


@dataclass(frozen=True)
class ReproBound:
    """How close a repro's result must be to the expected value: |got - expected| <= atol + rtol * |expected|."""

    atol: float
    rtol: float


class _NotMade(Exception):
    """No repro can be made from what was given (says why)."""


def _select(graph: onnx.GraphProto, targets: Sequence[str], cuts: set[str], depth: int) -> tuple[int, ...]:
    """Indexes (graph order) of the targets' producers and the nodes up to `depth` hops above them.

    Past `depth` a tensor in `cuts` becomes an input; one that is not is computed, so its producer
    comes along whatever its depth (nothing else could feed it).
    """
    producer = {o: i for i, n in enumerate(graph.node) for o in n.output if o}
    initializers = {t.name for t in graph.initializer}
    chosen: set[int] = set()
    queue = deque((producer[t], 0) for t in targets)
    while queue:  # breadth first: a node is reached first at its fewest hops
        index, hops = queue.popleft()
        if index in chosen:
            continue
        chosen.add(index)
        for name in sorted(node_reads(graph.node[index])):
            if name in producer and name not in initializers and (hops < depth or name not in cuts):
                queue.append((producer[name], hops + 1))
    return tuple(sorted(chosen))


def _subgraph(
    model: onnx.ModelProto,
    types: Mapping[str, onnx.ValueInfoProto],
    indexes: Sequence[int],
    targets: Sequence[str],
    values: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The model of just these nodes, with targets as outputs, and the feeds for its inputs."""
    nodes = [model.graph.node[i] for i in indexes]
    produced = {o for n in nodes for o in n.output}
    initializers = {t.name: t for t in model.graph.initializer}
    read = sorted(set().union(*(node_reads(n) for n in nodes)))
    feeds: dict[str, np.ndarray] = {}
    for name in (n for n in read if n not in produced and n not in initializers):
        if name not in values:
            raise _NotMade(f"no known-good value for {name!r}, which the graph reads but does not compute")
        value = np.asarray(values[name])
        elem = types[name].type.tensor_type.elem_type if name in types else 0
        if elem and value.dtype != helper.tensor_dtype_to_np_dtype(elem):  # the graph's type, not the caller's
            value = value.astype(helper.tensor_dtype_to_np_dtype(elem))
        feeds[name] = value
    # Inputs get symbolic dims: a concrete shape lets ORT's shape inference refuse the graph at load
    # ("Dimension mismatch in unification") where the case failed while running, with another message.
    inputs = [
        helper.make_tensor_value_info(
            n, helper.np_dtype_to_tensor_dtype(v.dtype), [f"{_symbol(n)}_{i}" for i in range(v.ndim)]
        )
        for n, v in feeds.items()
    ]
    outputs = []
    for name in targets:
        if name in types and types[name].type.tensor_type.elem_type:
            outputs.append(types[name])
        elif name in expected:
            arr = np.asarray(expected[name])
            outputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype), arr.shape))
        else:
            outputs.append(helper.make_empty_tensor_value_info(name))
    graph = helper.make_graph(
        nodes, "repro", inputs, outputs, initializer=[initializers[n] for n in read if n in initializers]
    )
    # IR 3 wants every initializer listed as an input too; 4 lifts that and still allows the same opsets.
    sub = helper.make_model(graph, opset_imports=model.opset_import, ir_version=max(model.ir_version, 4))
    sub.functions.extend(model.functions)
    return sub, feeds


def _symbol(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def _fails_in_process(
    sub: onnx.ModelProto,
    feeds: Mapping[str, np.ndarray],
    targets: Sequence[str],
    expected: Mapping[str, np.ndarray],
    bound: ReproBound,
    provider: str,
    failure_text: str,
) -> bool:
    """Whether onnxruntime, here, gets this subgraph wrong the way the case did."""
    options = ort.SessionOptions()
    options.log_severity_level = 3  # a search tries many subgraphs: keep their warnings out of the log
    try:
        session = ort.InferenceSession(sub.SerializeToString(), options, providers=[provider])
        got = session.run(list(targets), dict(feeds))
    except Exception as exc:  # noqa: BLE001 - whichever error ORT raises, the text decides
        return bool(failure_text) and failure_text in f"{type(exc).__name__}: {exc}"
    if failure_text:
        return False
    return any(
        out.shape != np.shape(expected[name])
        or out_of_bound(out, np.asarray(expected[name]), bound.atol, bound.rtol).any()
        for name, out in zip(targets, got, strict=True)
    )


def _smallest_failing(
    model: onnx.ModelProto,
    targets: Sequence[str],
    values: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    fails: Callable[..., bool],
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]] | None:
    """The failing subgraph of fewest hops above the targets: doubling the depth, then bisecting it."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - shape inference only adds types; the values give the rest
        inferred = model
    g = inferred.graph
    types = {vi.name: vi for vi in (*g.value_info, *g.input, *g.output) if vi.type.HasField("tensor_type")}
    graph = model.graph
    cuts = set(values) - {t.name for t in graph.initializer}
    everything = _select(graph, targets, set(), 0)  # nothing cut: every ancestor of the targets
    tried: dict[tuple[int, ...], tuple[onnx.ModelProto, dict[str, np.ndarray]] | None] = {}

    def attempt(depth: int) -> tuple[onnx.ModelProto, dict[str, np.ndarray]] | None:
        indexes = _select(graph, targets, cuts, depth)
        if indexes not in tried:
            sub, feeds = _subgraph(model, types, indexes, targets, values, expected)
            tried[indexes] = (sub, feeds) if fails(sub, feeds) else None
        return tried[indexes]

    below, depth = -1, 0
    while attempt(depth) is None:
        if _select(graph, targets, cuts, depth) == everything:
            return None
        below, depth = depth, max(1, depth * 2)
    while depth - below > 1:  # the failure may need fewer hops than the doubling landed on
        middle = (below + depth) // 2
        below, depth = (below, middle) if attempt(middle) is not None else (middle, depth)
    return attempt(depth)


def write_graph_repro(
    folder: Path,
    model: onnx.ModelProto,
    targets: Sequence[str],
    values: Mapping[str, np.ndarray],
    expected: Mapping[str, np.ndarray],
    bound: ReproBound,
    title: str,
    expected_from: str,
    provider: str = "CPUExecutionProvider",
    failure_text: str = "",
    timeout: float = 120.0,
) -> Repro:
    """Write the smallest subgraph of `model` that still fails in onnxruntime, as a standalone folder.

    Args:
        folder: Where the repro goes (replaced); removed again when it does not reproduce.
        model: The failing graph, every initializer inline.
        targets: The tensors whose value is wrong (the first divergent node's outputs).
        values: Known-good values of tensors of the graph: its inputs and any intermediate one,
            each a place the subgraph may be cut and fed.
        expected: The right value of each target (may be empty when failure_text is given).
        bound: How close the repro's result must be to `expected` to count as right.
        title: One line saying what is wrong, the script's docstring.
        expected_from: What `expected` is, e.g. "ONNX's reference evaluator".
        provider: The execution provider the failure happens on.
        failure_text: For failures that are errors: a piece of the error onnxruntime raises
            ("crash": the process dies; checked in fresh processes only).
        timeout: Seconds each fresh-process run of repro.py may take.

    Returns:
        "reproduces" with the folder and the node counts, "dropped: ..." when the written
        script did not reproduce, or "not made: ..." when no subgraph fails or one cannot be fed.
    """
    before = len(model.graph.node)
    producers = {o for n in model.graph.node for o in n.output}
    missing = [t for t in targets if t not in producers] or [
        t for t in targets if t not in expected and not failure_text
    ]
    if not targets or missing:
        return Repro(
            f"not made: no node computes, or no expected value for, {missing or 'any target'}", nodes_before=before
        )
    expected = {t: np.asarray(expected[t]) for t in targets if t in expected}
    script = {"title": title, "expected_from": expected_from, "provider": provider, "failure_text": failure_text}
    script |= {"atol": bound.atol, "rtol": bound.rtol}

    def fails(sub: onnx.ModelProto, feeds: Mapping[str, np.ndarray]) -> bool:
        if failure_text != CRASH:
            return _fails_in_process(sub, feeds, targets, expected, bound, provider, failure_text)
        write_graph_folder(folder, sub, feeds, expected, **script)  # a crash would take this process down
        return run_script(folder, timeout, clean_env())[0] < 0

    try:
        found = _smallest_failing(model, targets, values, expected, fails)
    except _NotMade as exc:
        shutil.rmtree(folder, ignore_errors=True)  # a crash search may have written one
        if failure_text and failure_text != CRASH:  # an error no cut graph shows (a file ORT refuses to load)
            return _whole_file(folder, model, values, script, timeout, f"not made: {exc}")
        return Repro(f"not made: {exc}", nodes_before=before)
    if found is None and failure_text and failure_text != CRASH:
        return _whole_file(folder, model, values, script, timeout, "dropped: no subgraph fails alike")
    if found is None:
        shutil.rmtree(folder, ignore_errors=True)
        why = "a fresh process" if failure_text == CRASH else "onnxruntime here"
        return Repro(f"dropped: did not reproduce in {why}, on any subgraph up to the whole graph", nodes_before=before)
    sub, feeds = found
    write_graph_folder(folder, sub, feeds, expected, **script)
    return _checked(folder, timeout, before, len(sub.graph.node), crash=failure_text == CRASH)


def _checked(
    folder: Path,
    timeout: float,
    before: int | None,
    after: int | None,
    *,
    crash: bool = False,
    root: Path | None = None,
) -> Repro:
    """Run the folder's repro.py once in a fresh Python (with `root` on PYTHONPATH for scripts that import
    the zoo or the suite's shims); keep the folder only when it reproduces: exit 1 and a last line
    starting REPRODUCED, or, for a crash repro, death by a signal."""
    env = clean_env() if root is None else clean_env() | {"PYTHONPATH": str(root)}
    code, last = run_script(folder, timeout, env)
    reproduced = (code == 1 and last.startswith("REPRODUCED:")) or (crash and code < 0)
    return keep_or_drop(folder, reproduced, last, before, after)


def _whole_file(
    folder: Path,
    model: onnx.ModelProto,
    values: Mapping[str, np.ndarray],
    script: Mapping[str, Any],
    timeout: float,
    otherwise: str,
) -> Repro:
    """The failing file itself, unchanged, with its graph inputs: an error that needs the whole graph
    (an invalid file, a session that fails only as built) still gets a repro, checked the same way."""
    initializers = {t.name for t in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in initializers]
    if any(n not in values for n in names):
        return Repro(otherwise, nodes_before=len(model.graph.node))
    write_graph_folder(folder, model, {n: np.asarray(values[n]) for n in names}, {}, **script)
    return _checked(folder, timeout, len(model.graph.node), len(model.graph.node))


def write_export_repro(
    folder: Path,
    *,
    model_import: str,
    builder_call: str,
    inputs: Mapping[str, np.ndarray],
    export_call: str,
    failure_text: str,
    title: str = "",
    module_path: str | None = None,
    seed: int = 0,
    timeout: float = 300.0,
    repo_root: Path | None = None,
) -> Repro:
    """Write a script that builds the model and repeats its failing export call; keep it if it fails alike.

    Args:
        folder: Where the repro goes (replaced); removed again when it does not reproduce.
        model_import: Import lines the builder call needs, e.g. "from zoo import registry".
        builder_call: An expression building the model, e.g.
            'registry.ModelRegistry().load_builtin().get("resnet18").builder()'.
        inputs: The example inputs in forward() order (saved as inputs.npz).
        export_call: The export statement(s); they may use `model`, `args` (the inputs as a tuple of
            tensors), `inputs` (name -> tensor) and `path` (a file in a temporary folder).
        failure_text: A piece of "<ExceptionType>: <message>" the export must raise.
        title: One line saying what fails, the script's docstring.
        module_path: A submodule (as model.get_submodule takes it) to export instead of the model.
        seed: torch.manual_seed before building, as the suite builds the model.
        timeout: Seconds the fresh-process run may take.
        repo_root: The checkout holding the zoo (PYTHONPATH of the check); default: this one.

    Returns:
        "reproduces" with the folder, or "dropped: ..." when the call did not fail that way.
    """
    write_export_folder(
        folder,
        model_import=model_import,
        builder_call=builder_call,
        inputs=inputs,
        export_call=export_call,
        failure_text=failure_text,
        title=title,
        module_path=module_path,
        seed=seed,
    )
    return _checked(folder, timeout, None, None, root=repo_root or _CHECKOUT)


def write_call_repro(
    folder: Path,
    *,
    files: Mapping[str, Path],
    inputs: Mapping[str, np.ndarray],
    imports: str,
    call: str,
    failure_text: str,
    title: str,
    packages: Sequence[str],
    timeout: float = 300.0,
    repo_root: Path | None = None,
) -> Repro:
    """A script that repeats a converter's failing call on copies of the files it read; kept if it fails alike.

    Args:
        folder: Where the repro goes (replaced); removed again when it does not reproduce.
        files: Name in the folder -> the file or folder to copy there (the export, a SavedModel ...).
        inputs: Stored as inputs.npz; the call sees them as `inputs`.
        imports: The script's import lines.
        call: Source lines of the call (run from the folder, so `files` are plain relative names).
        failure_text: A piece of "<ExceptionType>: <message>" the call must raise.
        title: One line saying what fails, the script's docstring.
        packages: The distributions whose versions go into versions.json.
        timeout: Seconds the fresh-process run may take.
        repo_root: The checkout on the check's PYTHONPATH (for calls through the suite's shims).
    """
    write_call_folder(
        folder, files=files, inputs=inputs, imports=imports, call=call, failure_text=failure_text,
        title=title, packages=packages,
    )  # fmt: skip
    return _checked(folder, timeout, None, None, root=repo_root or _CHECKOUT)
