"""The triage finds the right node and the right blame for planted faults of every kind.

End to end (the real plugin, torch worker and onnx worker): a custom op whose ONNX symbolic is
wrong in one layer (exporter, in module `scale`), a model that is not deterministic (no red cell:
a skip "not judged" naming its random op), a traced size baked into a Reshape (exporter, that
Reshape). In process, on graphs built here: a
runtime that computes one node wrongly (runtime, that node), a transform that corrupts one
initializer (transform, the node reading it), a version conversion that changes one node
(converter), and the two-sides rule (a blame needs two independent sides that agree).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

from suite.judge.floor import Bound
from suite.judge.triage.blame import GraphEvidence, blame_export, blame_export_failure
from suite.judge.triage.divergence import EagerModule, first_module_divergence
from suite.judge.triage.findings import Blame, Divergence
from suite.judge.triage.intermediates import GraphValues, ort_values
from suite.runtime.providers import ProviderRequest
from suite.workers.triage_graph import GraphJob, triage_graph  # noqa: TID251 - run in process here

ROOT = Path(__file__).resolve().parent.parent
PLANTED = ROOT / "tests" / "planted_faults.py"
CPU = ProviderRequest("CPUExecutionProvider")


@pytest.fixture(scope="module")
def planted_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    report_dir = tmp_path_factory.mktemp("planted")
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix" / "test_ort.py"), "--rootdir", str(ROOT),
            "-p", "no:cacheprovider", "-q", f"--zoo-module={PLANTED}", "--zoo-models=planted_*",
            "--zoo-exporters=torchscript", "--zoo-opsets=17", "--zoo-triage=-1", f"--zoo-report-dir={report_dir}",
            f"--zoo-cache-dir={report_dir / 'cache'}", "--zoo-history=none",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]  # red cases, a complete run
    run = report_dir / "latest"
    return pd.read_csv(run / "results.csv").set_index("case_id"), run


@pytest.mark.slow
def test_a_wrong_symbolic_is_the_exporters_in_the_layer_that_has_it(planted_rows: tuple[pd.DataFrame, Path]) -> None:
    rows, run = planted_rows
    for shape in ("static", "dynamic"):
        row = rows.loc[f"planted_symbolic-torchscript-op17-{shape}-ort_cpu"]
        assert row["status"] == "mismatch"
        assert row["triage_blame"] == "exporter" and row["triage_project"] == "pytorch"
        assert row["triage_node"] == "/scale/Mul" and row["triage_op"] == "Mul"
        assert row["triage_source"].startswith("module scale")
        assert row["triage_repro_status"] == "reproduces"
        assert row["triage_nodes_after"] < row["triage_nodes_before"]
    folder = run / rows.loc["planted_symbolic-torchscript-op17-static-ort_cpu", "triage_repro"]
    draft = (folder / "README.md").read_text()
    assert draft.startswith("# pytorch") and "planted_symbolic-torchscript-op17" in draft
    # The repro needs only onnx, onnxruntime and numpy, and fails in a fresh process.
    rerun = subprocess.run([sys.executable, "repro.py"], cwd=folder, capture_output=True, text=True, check=False)
    assert rerun.returncode == 1 and "REPRODUCED" in rerun.stdout


@pytest.mark.slow
def test_a_model_that_disagrees_with_itself_is_not_judged(planted_rows: tuple[pd.DataFrame, Path]) -> None:
    # No red cell to triage: the row says the model's own fault, and the random op, before any blame.
    rows, _ = planted_rows
    row = rows.loc["planted_random-torchscript-op17-static-ort_cpu"]
    assert row["status"] == "skip"
    assert row["message"].startswith("not judged: the eager model is not deterministic")
    assert "(random ops in forward: aten.rand_like)" in row["message"]
    assert pd.isna(row.get("triage_blame"))


@pytest.mark.slow
def test_a_baked_size_is_the_exporters_at_the_reshape_that_holds_it(planted_rows: tuple[pd.DataFrame, Path]) -> None:
    rows, run = planted_rows
    row = rows.loc["planted_baked-torchscript-op17-dynamic-ort_cpu"]
    assert row["status"] == "mismatch"
    assert row["triage_blame"] == "exporter"
    assert row["triage_op"] == "Reshape" and "[2, -1]" in row["triage_against"]
    assert row["triage_repro_status"] == "reproduces" and (run / row["triage_repro"] / "repro.py").exists()
    assert pd.isna(rows.loc["planted_baked-torchscript-op17-static-ort_cpu"].get("triage_blame"))  # passed: none


# -- in process, on graphs built here -----------------------------------------------------------


def _chain(path: Path, scale: float = 0.5) -> Path:
    """x -> MatMul(w1) -> Sigmoid -> MatMul(w2) -> Relu -> y, seeded weights."""
    rng = np.random.default_rng(0)
    w1 = helper.make_tensor("w1", TensorProto.FLOAT, (8, 8), (rng.standard_normal((8, 8)) * scale).ravel())
    w2 = helper.make_tensor("w2", TensorProto.FLOAT, (8, 4), (rng.standard_normal((8, 4)) * scale).ravel())
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h1"], name="first_matmul"),
        helper.make_node("Sigmoid", ["h1"], ["h2"], name="the_sigmoid"),
        helper.make_node("MatMul", ["h2", "w2"], ["h3"], name="second_matmul"),
        helper.make_node("Relu", ["h3"], ["y"], name="last_relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 8))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2, 4))],
        [w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def _feeds() -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32)}


def _right_outputs(path: Path) -> list[np.ndarray]:
    values = ort_values(onnx.load(str(path)), _feeds())
    return [values.values["y"]]


def _faulty_runtime(node_name: str, op_type: str):
    """ONNX Runtime, except that it computes `node_name` as `op_type` (a planted kernel bug)."""

    def run(model: onnx.ModelProto, feeds: Mapping[str, Any], request: ProviderRequest) -> GraphValues:
        broken = onnx.ModelProto()
        broken.CopyFrom(model)
        for node in broken.graph.node:
            if node.name == node_name:
                node.op_type = op_type
        return ort_values(broken, feeds, request)

    return run


def test_a_runtime_that_computes_one_node_wrongly_is_the_runtimes_at_that_node(tmp_path: Path) -> None:
    graph = _chain(tmp_path / "chain.onnx")
    job = GraphJob("export", str(graph), _feeds(), _right_outputs(graph), (Bound(1e-5, 0.0),), CPU, "torchscript")
    found = triage_graph(job, runtime=_faulty_runtime("the_sigmoid", "HardSigmoid"))
    assert found["blame"] == Blame.RUNTIME.value
    assert found["divergence"]["node"] == "the_sigmoid" and found["divergence"]["op_type"] == "Sigmoid"
    assert found["divergence"]["floor_ratio"] > 100  # far beyond the node's own float32 floor


def test_a_transform_that_corrupts_one_initializer_is_the_transforms_at_its_reader(tmp_path: Path) -> None:
    before = _chain(tmp_path / "before.onnx")
    model = onnx.load(str(before))
    w2 = next(t for t in model.graph.initializer if t.name == "w2")
    corrupted = onnx.numpy_helper.to_array(w2) * 1.5
    w2.CopyFrom(onnx.numpy_helper.from_array(corrupted.astype(np.float32), "w2"))
    after = tmp_path / "after.onnx"
    onnx.save(model, str(after))
    job = GraphJob("step", str(after), _feeds(), [], (Bound(1e-5, 0.0),), CPU, "opt_ort_all", before=str(before))
    found = triage_graph(job)
    assert found["blame"] == Blame.TRANSFORM.value
    assert found["divergence"]["node"] == "second_matmul"
    assert found["divergence"]["against"].startswith("the graph before the opt_ort_all")


def test_a_converter_step_is_blamed_as_the_converters(tmp_path: Path) -> None:
    before = _chain(tmp_path / "before.onnx")
    model = onnx.load(str(before))
    next(n for n in model.graph.node if n.name == "last_relu").op_type = "Sigmoid"  # a wrong adapter
    after = tmp_path / "converted.onnx"
    onnx.save(model, str(after))
    job = GraphJob(
        "step", str(after), _feeds(), [], (Bound(1e-5, 0.0),), CPU, "version", before=str(before),
        step_blame=Blame.CONVERTER.value,
    )  # fmt: skip
    found = triage_graph(job)
    assert found["blame"] == Blame.CONVERTER.value and found["divergence"]["node"] == "last_relu"


def test_a_graph_that_computes_the_wrong_thing_is_the_exporters_without_a_runtime_node(tmp_path: Path) -> None:
    graph = _chain(tmp_path / "chain.onnx")
    wrong = [_right_outputs(graph)[0] + 1.0]  # eager says otherwise: the graph itself is wrong
    job = GraphJob("export", str(graph), _feeds(), wrong, (Bound(1e-5, 0.0),), CPU, "dynamo")
    found = triage_graph(job)
    assert found["blame"] == Blame.EXPORTER.value and "agree on the graph" in found["reason"]


def test_a_blame_needs_two_sides_that_agree() -> None:
    runtime_node = Divergence("n", "Resize", "t", "", 1.0, 1e6, "ONNX's reference evaluator", "tensor names")
    # ORT differs from the evaluator at a node, but the evaluator does not match eager either (it is
    # no oracle: FACTS, Resize with align_corners): not the runtime's.
    blame, reason, _ = blame_export(GraphEvidence(runtime=runtime_node, reference_matches=False), "torchscript")
    assert blame is Blame.UNRESOLVED and "no two sides agree" in reason
    blame, _, where = blame_export(GraphEvidence(runtime=runtime_node, reference_matches=True), "torchscript")
    assert blame is Blame.RUNTIME and where == runtime_node
    blame, reason, _ = blame_export(GraphEvidence(reference_error="NotImplementedError: Foo"), "dynamo")
    assert blame is Blame.UNRESOLVED and "cannot run the graph" in reason


def test_an_evaluator_that_ran_out_of_time_is_no_second_runtime_refusing_the_graph() -> None:
    """tv_mvit_v2_s (12122 nodes): ORT failed at an If node and the reference evaluator was stopped at its
    60 s budget; that was read as two runtimes refusing the graph (the exporter's), while the same If
    node of tv_mvit_v1_b, which the evaluator ran, is ONNX Runtime's."""
    if_node = Divergence("/model/blocks.1/pool_skip/If", "If", "t", "", None, None, "", "ONNX Runtime's error")
    slow = GraphValues({}, "ReferenceTooSlow: stopped after 60 s (the reference evaluator's budget)")
    refused = GraphValues({}, "RuntimeError: Squeeze: the axis is not of size 1")
    assert slow.gave_up and not refused.gave_up
    kwargs = {"ort_error": "InvalidArgument: If node failed", "runtime": if_node}
    blame, reason, _ = blame_export(GraphEvidence(reference_error=slow.error, reference_gave_up=True, **kwargs), "ts")
    assert blame is Blame.UNRESOLVED and "cannot run the graph (ReferenceTooSlow" in reason
    blame, _, _ = blame_export(GraphEvidence(reference_error=refused.error, **kwargs), "torchscript")
    assert blame is Blame.EXPORTER


def test_export_failures_are_blamed_from_their_signature() -> None:
    guard = "GuardOnDataDependentSymNode: Could not guard on data-dependent expression u0 > 0"
    assert blame_export_failure("dynamo", guard, "")[0] is Blame.MODEL
    assert blame_export_failure("torchscript", "UnsupportedOperatorError: aten::foo", "")[:1] == (Blame.EXPORTER,)
    assert blame_export_failure("dynamo", "harness error at x: KeyError", "")[0] is Blame.HARNESS


def test_the_fault_is_in_the_module_whose_inputs_match_eager_and_whose_outputs_do_not() -> None:
    nodes = [
        helper.make_node("Mul", ["x", "three"], ["a_out"], name="/a/Mul"),  # planted: eager doubles
        helper.make_node("Add", ["a_out", "one"], ["y"], name="/b/Add"),
    ]
    graph = helper.make_graph(
        nodes,
        "scoped",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, (2, 3))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, (2, 3))],
        [
            helper.make_tensor("three", TensorProto.FLOAT, (), [3.0]),
            helper.make_tensor("one", TensorProto.FLOAT, (), [1.0]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = np.arange(6, dtype=np.float32).reshape(2, 3) + 1
    ort = ort_values(model, {"x": x})
    eager = [EagerModule("a", (x,), (x * 2,)), EagerModule("b", (x * 2,), (x * 2 + 1,))]
    match, how = first_module_divergence(model, ort, eager)
    assert match is not None and match.module.path == "a"  # b's output differs too, but its input already did
    assert match.divergence.node == "/a/Mul" and "2 of 2 modules" in how
    np.testing.assert_array_equal(match.inputs["x"], x)


def test_a_quantized_module_off_by_a_rounding_step_is_the_suites_tolerance_not_the_exporters() -> None:
    located = Divergence("/layer1/conv/Conv", "QLinearConv", "t", "module layer1.conv", 0.036, 1.0, "eager", "")
    evidence = GraphEvidence(reference_matches=False, located=located, quantization_steps=1.0)
    blame, reason, _ = blame_export(evidence, "torchscript")
    assert blame is Blame.HARNESS and "quantization step" in reason
    far = GraphEvidence(reference_matches=False, located=located, quantization_steps=40.0)
    assert blame_export(far, "torchscript")[0] is Blame.EXPORTER
