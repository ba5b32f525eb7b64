"""Repro folders and issue drafts for red cases (suite.judge.triage.repro, .draft).

Every repro here is written, then run as its own script in a fresh process, as a maintainer would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from suite.core.messages import first_line
from suite.judge.triage.draft import write_draft
from suite.judge.triage.findings import Blame, Divergence, Findings, Repro
from suite.judge.triage.repro import ReproBound, write_call_repro, write_export_repro, write_graph_repro
from suite.run.triage_scripts import converter_failure_text, run_failure_text
from tests.test_messages import TF_GRAPH_ERROR

BOUND = ReproBound(atol=1e-5, rtol=1e-4)
X = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)


def _model(nodes, inputs, outputs, initializers=()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def _float(name: str, shape=("n", 4)) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def _relu_sigmoid_mul() -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """x -> Relu -> Sigmoid -> Mul(by x): the model and ORT's value of every tensor."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Sigmoid", ["r"], ["s"], name="sigmoid"),
        helper.make_node("Mul", ["s", "x"], ["y"], name="mul"),
    ]
    r = np.maximum(X, 0)
    s = (1 / (1 + np.exp(-r))).astype(np.float32)
    return _model(nodes, [_float("x")], [_float("y")]), {"x": X, "r": r, "s": s, "y": s * X}


def _run(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "repro.py"], cwd=folder, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_a_wrong_sigmoid_reproduces_with_that_node_alone(tmp_path):
    model, values = _relu_sigmoid_mul()
    hard_sigmoid = np.clip(0.2 * values["r"] + 0.5, 0, 1)  # what the "right" answer is said to be
    folder = tmp_path / "sigmoid"
    repro = write_graph_repro(
        folder, model, ["s"], values, {"s": hard_sigmoid}, BOUND, "onnxruntime: Sigmoid gives wrong values", "a test"
    )
    assert repro == Repro("reproduces", str(folder.resolve()), nodes_before=3, nodes_after=1)
    sub = onnx.load(str(folder / "model.onnx"))
    assert [n.op_type for n in sub.graph.node] == ["Sigmoid"]
    assert [i.name for i in sub.graph.input] == ["r"]
    stored = onnx.load_tensor(str(folder / "test_data_set_0" / "input_0.pb"))
    assert stored.name == "r"
    np.testing.assert_array_equal(numpy_helper.to_array(stored), values["r"])
    out = onnx.load_tensor(str(folder / "test_data_set_0" / "output_0.pb"))
    assert out.name == "s"
    np.testing.assert_array_equal(numpy_helper.to_array(out), hard_sigmoid)
    versions = json.loads((folder / "versions.json").read_text())
    assert versions["onnxruntime"] == ort.__version__ and versions["provider"] == "CPUExecutionProvider"
    script = (folder / "repro.py").read_text()
    assert "import suite" not in script and "ATOL = 1e-05" in script and "RTOL = 0.0001" in script
    proc = _run(folder)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("REPRODUCED: s: ") and "max abs error" in last


def test_a_right_answer_is_dropped_and_leaves_no_folder(tmp_path):
    model, values = _relu_sigmoid_mul()
    folder = tmp_path / "right"
    repro = write_graph_repro(folder, model, ["s"], values, {"s": values["s"]}, BOUND, "nothing wrong", "ORT itself")
    assert repro.status.startswith("dropped: did not reproduce"), repro
    assert not repro.kept and not folder.exists()


def test_a_right_in_process_answer_the_fresh_script_also_gets_right_is_dropped(tmp_path, monkeypatch):
    """The in-process search is fooled (it says every subgraph fails): the fresh process has the last word."""
    from suite.judge.triage import repro as repro_module

    monkeypatch.setattr(repro_module, "_fails_in_process", lambda *args: True)
    model, values = _relu_sigmoid_mul()
    folder = tmp_path / "fooled"
    repro = write_graph_repro(folder, model, ["s"], values, {"s": values["s"]}, BOUND, "nothing wrong", "ORT itself")
    assert (
        repro.status == "dropped: did not reproduce in a fresh process (NOT REPRODUCED: every output is within bound)"
    )
    assert not folder.exists()


def test_a_crash_that_does_not_happen_is_dropped(tmp_path):
    """ "crash" is checked in fresh processes only (it would take this one down): none dies here."""
    model, values = _relu_sigmoid_mul()
    folder = tmp_path / "crash"
    repro = write_graph_repro(folder, model, ["s"], values, {}, BOUND, "Sigmoid crashes", "", failure_text="crash")
    assert repro.status == "dropped: did not reproduce in a fresh process, on any subgraph up to the whole graph"
    assert not folder.exists()


def test_the_subgraph_grows_upstream_to_the_fewest_hops_that_fail(tmp_path):
    """t1 = x + 1, ..., t8 = t7 + 1; the known values of t0..t2 disagree (by 5) with those of t3..t7, as an
    upstream fusion that only goes wrong on the whole chain would: the failure needs the cut at t2, 6 nodes."""
    one = numpy_helper.from_array(np.ones((), np.float32), "one")
    nodes = [helper.make_node("Add", [f"t{i}", "one"], [f"t{i + 1}"], name=f"add{i}") for i in range(8)]
    model = _model(nodes, [_float("t0")], [_float("t8")], [one])
    values = {f"t{j}": X + j + (5 if j >= 3 else 0) for j in range(8)}
    repro = write_graph_repro(tmp_path / "chain", model, ["t8"], values, {"t8": X + 13}, BOUND, "chain", "a test")
    assert (repro.status, repro.nodes_before, repro.nodes_after) == ("reproduces", 8, 6)
    sub = onnx.load(str(tmp_path / "chain" / "model.onnx"))
    assert [i.name for i in sub.graph.input] == ["t2"] and [t.name for t in sub.graph.initializer] == ["one"]
    assert _run(tmp_path / "chain").returncode == 1


def test_a_reshape_error_reproduces_by_its_text(tmp_path):
    shape = numpy_helper.from_array(np.array([2, 8], np.int64), "shape")  # baked for 16 values; x has 12
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "shape"], ["y"], name="reshape"),
    ]
    model = _model(nodes, [_float("x")], [_float("y", (2, 8))], [shape])
    folder = tmp_path / "reshape"
    repro = write_graph_repro(
        folder,
        model,
        ["y"],
        {"x": X, "r": np.maximum(X, 0)},
        {},
        BOUND,
        "onnxruntime: Reshape fails",
        "",
        failure_text="cannot be reshaped",
    )
    assert (repro.status, repro.nodes_after) == ("reproduces", 1)
    assert not list((folder / "test_data_set_0").glob("output_*.pb"))
    proc = _run(folder)
    assert proc.returncode == 1 and "cannot be reshaped" in proc.stdout
    assert (
        proc.stdout.strip().splitlines()[-1]
        == "REPRODUCED: onnxruntime raised an error containing 'cannot be reshaped'"
    )


@pytest.mark.parametrize("known", [True, False], ids=["outer-value-known", "outer-value-computed"])
def test_an_if_branch_reading_an_outer_tensor_keeps_working(tmp_path, known):
    """The If's branches read `r` from the graph around them: it is fed (known) or its producer comes along."""
    then_graph = helper.make_graph([helper.make_node("Neg", ["r"], ["a"])], "then", [], [_float("a")])
    else_graph = helper.make_graph([helper.make_node("Identity", ["r"], ["b"])], "else", [], [_float("b")])
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("If", ["c"], ["y"], name="if", then_branch=then_graph, else_branch=else_graph),
    ]
    model = _model(nodes, [_float("x"), helper.make_tensor_value_info("c", TensorProto.BOOL, [])], [_float("y")])
    r = np.maximum(X, 0)
    values = {"x": X, "c": np.array(True)} | ({"r": r} if known else {})
    repro = write_graph_repro(tmp_path / "if", model, ["y"], values, {"y": r}, BOUND, "If", "the else branch")
    assert (repro.status, repro.nodes_after) == ("reproduces", 1 if known else 2)
    sub = onnx.load(str(tmp_path / "if" / "model.onnx"))
    assert sorted(i.name for i in sub.graph.input) == (["c", "r"] if known else ["c", "x"])


def test_a_target_no_node_computes_makes_no_repro(tmp_path):
    model, values = _relu_sigmoid_mul()
    repro = write_graph_repro(tmp_path / "none", model, ["x"], values, {"x": X}, BOUND, "input", "a test")
    assert repro.status.startswith("not made") and not (tmp_path / "none").exists()


def _findings(repro: Repro | None) -> Findings:
    divergence = Divergence(
        node="sigmoid",
        op_type="Sigmoid",
        output="s",
        source="",
        max_abs_err=0.12,
        floor_ratio=3.1e4,
        against="ONNX's reference evaluator on the same inputs",
        match="by name: the same graph on both sides",
    )
    return Findings(
        Blame.RUNTIME,
        "ORT and the reference evaluator disagree (0.12)",
        "onnxruntime",
        "runtime|onnxruntime|Sigmoid|values",
        divergence=divergence,
        repro=repro,
    )


def test_the_draft_has_the_title_versions_script_and_cases(tmp_path):
    model, values = _relu_sigmoid_mul()
    folder = tmp_path / "draft"
    hard_sigmoid = np.clip(0.2 * values["r"] + 0.5, 0, 1)
    repro = write_graph_repro(folder, model, ["s"], values, {"s": hard_sigmoid}, BOUND, "Sigmoid", "the evaluator")
    script = (folder / "repro.py").read_text()
    versions = json.loads((folder / "versions.json").read_text())
    cases = ["mlp-torchscript-op17-static-fp32-cpu", "mlp-dynamo-op18-static-fp32-cpu"]
    path = write_draft(
        folder,
        _findings(repro),
        case_ids=cases,
        message="output 0 leaves its bound: max abs error 0.12",
        versions=versions,
        repro_script=script,
    )
    text = path.read_text()
    lines = text.splitlines()
    assert path == folder / "README.md"
    assert lines[0] == "# onnxruntime: Sigmoid gives wrong values (max abs error 0.12)"
    assert "within atol 1e-05 + rtol 0.0001 * |expected|" in text
    assert "| Package | Version |" in lines and f"| onnxruntime | {ort.__version__} |" in lines
    assert f"| numpy | {np.__version__} |" in lines
    assert f"```python\n{script.rstrip()}\n```" in text
    assert "```sh\npython repro.py\n```" in text
    assert all(f"- `{case}`" in lines for case in cases)
    assert "1 of its 3 nodes" in text and "by name: the same graph on both sides" in text
    assert "ORT and the reference evaluator disagree (0.12)" in text and "TODO" not in text


def test_an_export_draft_says_the_checkout_is_needed(tmp_path):
    findings = Findings(Blame.EXPORTER, "the export raised", "pytorch", "exporter|pytorch|unflatten")
    script = "import torch\nfrom zoo import registry\n"
    text = write_draft(
        tmp_path,
        findings,
        case_ids=["c"],
        message="UnsupportedOperatorError: aten::unflatten",
        versions={},
        repro_script=script,
    ).read_text()
    assert text.startswith("# pytorch: UnsupportedOperatorError: aten::unflatten\n")
    assert "PYTHONPATH=<zoo-suite checkout> python repro.py" in text and "## How the first divergence" not in text


_ENCODER = {
    "model_import": "from zoo import registry",
    "builder_call": 'registry.ModelRegistry().load_modules(["zoo.models.sequence"])'
    '.get("transformer_encoder").builder()',
    "inputs": {"x": np.random.default_rng(0).standard_normal((1, 12, 16)).astype(np.float32)},
}


def _export_call(opset: int) -> str:
    # The TorchScript exporter's call as suite/exporters/torchscript.py makes it.
    return (
        f"torch.onnx.export(model, args, path, dynamo=False, opset_version={opset},\n"
        '                  input_names=["x"], output_names=["output_0"])'
    )


def test_an_export_that_fails_reproduces(tmp_path):
    folder = tmp_path / "export"
    repro = write_export_repro(
        folder, **_ENCODER, export_call=_export_call(9), failure_text="'aten::unflatten' to ONNX opset version 9"
    )
    assert repro == Repro("reproduces", str(folder.resolve()))
    assert {p.name for p in folder.iterdir()} == {"repro.py", "inputs.npz", "versions.json"}
    assert json.loads((folder / "versions.json").read_text())["torch"] != "absent"


def test_an_export_that_succeeds_is_dropped(tmp_path):
    folder = tmp_path / "export-ok"
    repro = write_export_repro(folder, **_ENCODER, export_call=_export_call(17), failure_text="is not supported")
    assert repro.status.startswith(
        "dropped: did not reproduce in a fresh process (NOT REPRODUCED: the export succeeded"
    )
    assert not folder.exists()


def test_a_converter_call_that_fails_reproduces_on_a_copy_of_its_file(tmp_path):
    # A file tf2onnx might write that ONNX Runtime refuses: a node reads a tensor nothing defines.
    node = helper.make_node("Relu", ["nowhere"], ["y"])
    graph = helper.make_graph(
        [node], "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )  # fmt: skip
    broken = tmp_path / "broken.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(broken))
    call = 'ort.InferenceSession("converted.onnx", providers=["CPUExecutionProvider"])'
    repro = write_call_repro(
        tmp_path / "repro", files={"converted.onnx": broken}, inputs={"x": np.zeros(2, np.float32)},
        imports="import onnxruntime as ort", call=call, failure_text="nowhere", title="t", packages=("onnxruntime",),
    )  # fmt: skip
    assert repro.status == "reproduces" and (tmp_path / "repro" / "converted.onnx").exists()
    fine = tmp_path / "fine.onnx"
    onnx.save(
        helper.make_model(
            helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "ok", graph.input, graph.output),
            opset_imports=[helper.make_opsetid("", 17)],
        ),
        str(fine),
    )
    dropped = write_call_repro(
        tmp_path / "repro2", files={"converted.onnx": fine}, inputs={}, imports="import onnxruntime as ort",
        call=call, failure_text="nowhere", title="t", packages=("onnxruntime",),
    )  # fmt: skip
    assert dropped.status.startswith("dropped") and "the call succeeded" in dropped.status
    assert not (tmp_path / "repro2").exists()


def test_a_baked_axes_repro_checks_the_written_file(tmp_path):
    # The export succeeded but wrote a fixed size where a dynamic one was asked: the script's check raises.
    from suite.run.triage_scripts import BAKED_AXES, _dims_check
    from zoo.spec import InputSpec, ModelSpec

    spec = ModelSpec(
        name="m", builder=lambda: None, inputs=(InputSpec("x", ("batch", 3)),), dims={"batch": 2},
        other_dims=({"batch": 1}, {"batch": 3}),
    )  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )  # fmt: skip
    path = str(tmp_path / "fixed.onnx")
    onnx.save(helper.make_model(graph), path)
    with pytest.raises(AssertionError, match=f"{BAKED_AXES}: x\\[0\\] = 2"):
        exec(_dims_check(spec), {"path": path})
    graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(helper.make_model(graph), path)
    exec(_dims_check(spec), {"path": path})  # dynamic as asked: no error


def test_the_node_onnx_runtime_names_is_read_at_run_and_at_session_creation():
    from suite.judge.triage.intermediates import failing_node

    running = "Non-zero status code returned while running Reshape node. Name:'/attn/Reshape_4' Status Message: x"
    loading = (
        "[ONNXRuntimeError] : 1 : FAIL : Node (/model/layer.0/attention/self/MatMul) Op (MatMul) "
        "[ShapeInferenceError] Incompatible dimensions"
    )
    assert failing_node(running) == ("Reshape", "/attn/Reshape_4")
    assert failing_node(loading) == ("MatMul", "/model/layer.0/attention/self/MatMul")
    assert failing_node("[ONNXRuntimeError] : 10 : INVALID_GRAPH : no node named") is None


def test_a_runner_failure_is_reproduced_by_words_its_raw_error_holds():
    # The row's line is TF's kernel error with its node; the error a repro's run raises again is
    # TF's whole text, heading first: the words the repro looks for must be in that text.
    raw = f"InvalidArgumentError: {TF_GRAPH_ERROR}"
    message = f"TensorFlow (onnx2tf's SavedModel) failed at batch=2: {first_line(raw)}"
    words = run_failure_text(message)
    assert words.startswith("Matrix size-incompatible") and words in raw
    assert run_failure_text("LiteRT (float32 TFLite) failed at batch=2: RuntimeError: reshape.cc:92 (4 != 8)") == (
        "reshape.cc:92 (4 != 8)"
    )
    # A converter's own error is not a runner's, whatever its words say.
    assert run_failure_text("Onnx2tfError: ValueError: the layer failed at call: shapes differ") == ""


def test_onnx2tf_failures_are_reproduced_by_their_exception_types():
    # Keras names layers by a per-process counter, so a fresh process's words differ: types only.
    dynamic = (
        "cannot convert the dynamic export (Onnx2tfError: ValueError: Exception encountered when calling layer "
        "'tf.reshape_991' (type TFOpLambda).); with its inputs fixed to x:2,5,16 (overwrite_input_shape) it converts"
    )
    assert converter_failure_text(dynamic, "") == "Onnx2tfError: ValueError:"
    assert converter_failure_text("Onnx2tfError: onnx2tf wrote no SavedModel", "") == "Onnx2tfError:"
    # Other converters' errors keep their words where the raw error has them.
    assert converter_failure_text("KeyError: 'Shape' not found", "KeyError: 'Shape' not found in handlers") == (
        "KeyError: 'Shape' not found"
    )
