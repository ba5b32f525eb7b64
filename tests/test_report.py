import json
import os
from dataclasses import replace

import pandas as pd

from suite.core.record import Record, Status
from suite.paths import PATHS
from suite.report.results import new_run_dir, write_run

DECLARED = {"paths": [path.describe() for path in PATHS]}  # as the plugin records them


def _record(model: str, exporter: str, opset: int, shape: str, status: Status, message: str = "") -> dict:
    case_id = f"{model}-{exporter}-op{opset}-{shape}-ort_cpu"
    figures = {"max_abs_err": 1.5e-6} if status == Status.PASS else {}
    record = Record(
        case_id, model, exporter, opset, shape, "ort", provider_label="cpu", stage="ort", status=status, message=message
    )
    return replace(record, **figures).to_row()


def test_run_folder_has_one_row_per_case_and_a_matrix(tmp_path) -> None:
    rows = [
        _record("resnet18", "torchscript", 17, "static", Status.PASS),
        _record("resnet18", "dynamo", 18, "dynamic", Status.MISMATCH, "output 'y': 3% <off> & bad"),
        _record("gpt2", "torchscript", 17, "static", Status.EXPORT_ERROR, "forward() got multiple values"),
    ]
    run_dir = new_run_dir(tmp_path)
    paths = write_run(run_dir, rows, {"versions": {"onnx": "1.0"}, "selection": "test", **DECLARED})

    frame = pd.read_csv(paths["csv"])
    assert len(frame) == 3
    assert sorted(frame["status"]) == ["export_error", "mismatch", "pass"]

    page = paths["html"].read_text()
    assert 'id="case-resnet18-dynamo-op18-dynamic-ort_cpu"' in page
    assert 'href="#case-gpt2-torchscript-op17-static-ort_cpu"' in page
    assert "&lt;off&gt; &amp; bad" in page and "<off>" not in page  # messages are escaped
    assert page.count('<th class="model">') == 2  # one matrix row per model
    assert "<h3>ONNX Runtime vs eager</h3>" in page
    assert "<h2>Known failures</h2>" in page and "matched no case in this run" in page

    meta = json.loads(paths["metadata"].read_text())
    assert meta["status_counts"] == {"export_error": 1, "mismatch": 1, "pass": 1}
    latest = tmp_path / "latest"
    assert latest.is_symlink() and os.path.samefile(latest, run_dir)


def test_record_row_round_trip() -> None:
    record = Record(
        "m-dynamo-op18-static-ort_cpu", "m", "dynamo", 18, "static", "ort", provider_label="cpu", op_counts={"Conv": 3}
    )
    row = record.to_row()
    assert row["status"] == "pass" and json.loads(row["op_counts"]) == {"Conv": 3}
    assert Record.from_row(row) == record


def test_onnx_tf_coverage_counts_cases_per_refused_op(tmp_path) -> None:
    rows = []
    for model, op, version in [("a", "ReduceMean", 18), ("b", "ReduceMean", 18), ("c", "Squeeze", 13), ("d", "", None)]:
        hop = {"onnx_tf_status": "unsupported" if op else "pass", "onnx_tf_failed_op": op or None}
        hop["onnx_tf_failed_op_version"] = version
        rows.append(
            Record(f"{model}-dynamo-op18-static-tf_roundtrip", model, "dynamo", 18, "static", "tf", extra=hop).to_row()
        )
    paths = write_run(new_run_dir(tmp_path), rows, DECLARED)
    coverage = pd.read_csv(paths["coverage"])
    assert coverage.to_dict("records")[0] == {
        "op_type": "ReduceMean",
        "version": 18,
        "cases": 2,
        "case_ids": "a-dynamo-op18-static-tf_roundtrip, b-dynamo-op18-static-tf_roundtrip",
    }
    assert len(coverage) == 2
    page = paths["html"].read_text()
    assert "onnx-tf coverage" in page and "<td>ReduceMean</td><td>18</td><td>2</td>" in page
    assert "TensorFlow round trip" in page  # the path gets its own matrix


def test_every_path_with_rows_is_shown_declared_or_not(tmp_path) -> None:
    """A path shows under its declared title and columns; one the run did not describe still gets
    a matrix under its own name (it used to vanish from the page when a title table lacked it)."""
    rows = [_record("m", "torchscript", 17, "static", Status.PASS)]
    ort_openvino = Record(
        "m-torchscript-op17-static-ort_openvino", "m", "torchscript", 17, "static", "ort", provider_label="openvino"
    )
    tfjs = Record("m-torchscript-op17-static-tfjs", "m", "torchscript", 17, "static", "tfjs")
    int4 = Record(
        "m-torchscript-op17-static-quant_int4", "m", "torchscript", 17, "static", "quantize", "quant_int4",
        extra={"cosine": 0.987654, "speedup": 1.5},
    )  # fmt: skip
    rows += [ort_openvino.to_row(), tfjs.to_row(), int4.to_row()]
    page = write_run(new_run_dir(tmp_path), rows, DECLARED)["html"].read_text()
    assert "<h3>ONNX Runtime vs eager (CPU)</h3>" in page and "<h3>ONNX Runtime vs eager (openvino)</h3>" in page
    assert "<h3>tfjs</h3>" in page  # undeclared: its own name
    quantization = page[page.index("<h2>Quantization") :]
    assert ">quant_int4</a>" in quantization and "<th>cosine</th>" in quantization and "0.988" in quantization


def test_the_report_lists_known_failures_and_flags_a_stale_one(tmp_path) -> None:
    from zoo.expectations import EXPECTATIONS, expectation_usage

    first, second = EXPECTATIONS[0], EXPECTATIONS[1]
    # A case id each glob matches: the glob with its wildcards filled in.
    case_a = first.case_glob.split("|")[0].replace("*", "x")
    case_b = second.case_glob.split("|")[0].replace("*", "x")
    usage = {u["case_glob"]: u for u in expectation_usage({case_a: "xpass", case_b: "xfail", "mlp-other": "pass"})}
    assert usage[first.case_glob]["state"] == "stale: every case it matched passed"
    assert usage[second.case_glob]["state"] == "in use" and usage[second.case_glob]["xfail"] == 1
    others = [u for glob, u in usage.items() if glob not in (first.case_glob, second.case_glob)]
    assert all(u["state"] == "matched no case in this run" and u["cases"] == 0 for u in others)


def _latency_row(model: str, variant: str, p50: float, status: Status = Status.PASS, provider: str = "cpu") -> dict:
    case_id = f"{model}-torchscript-op17-dynamic-lat.{variant}.{provider}"
    message = "" if status == Status.PASS else "timed out"
    timing = {"p50_ms": p50, "ort_package": "onnxruntime"}
    record = Record(case_id, model, "torchscript", 17, "dynamic", "latency", variant, provider, stage="benchmark",
                    status=status, message=message, extra=timing)  # fmt: skip
    return record.to_row()


def test_the_quantization_table_takes_each_variants_speed_from_its_latency_row(tmp_path) -> None:
    """A quantized variant is timed once, on the latency path; the quantize table shows that timing."""
    from suite.report.latency import with_latency_speedups

    def quantized(model: str, variant: str) -> dict:
        case_id = f"{model}-torchscript-op17-static-{variant}"
        record = Record(case_id, model, "torchscript", 17, "static", "quantize", variant, "cpu", stage="done",
                        extra={"cosine": 0.999})  # fmt: skip
        return record.to_row()

    rows = [quantized("m", "quant_int8_dynamic"), quantized("m", "quant_fp16"), quantized("m", "quant_int4")]
    rows += [
        _latency_row("m", "fp32", 2.0),
        _latency_row("m", "quant_int8_dynamic", 1.0),
        _latency_row("m", "quant_fp16", 4.0),
        _latency_row("m", "quant_int8_dynamic", 0.1, provider="openvino"),  # another provider: not this table's
        _latency_row("m", "quant_int4", 1.0, Status.TIMEOUT),  # did not pass: no speed shown
    ]
    frame = pd.DataFrame(rows)
    table = with_latency_speedups(frame[frame["path"] == "quantize"], frame).set_index("variant")
    assert table.loc["quant_int8_dynamic", ["fp32_ms", "variant_ms", "speedup"]].tolist() == [2.0, 1.0, 2.0]
    assert table.loc["quant_fp16", "speedup"] == 0.5 and table.loc["quant_fp16", "slower_than_fp32"]
    assert pd.isna(table.loc["quant_int4", "speedup"]) and not table.loc["quant_int4", "slower_than_fp32"]
    page = write_run(new_run_dir(tmp_path), rows, DECLARED)["html"].read_text()
    quantization = page[page.index("<h2>Quantization") :]
    assert "0.5 SLOWER" in quantization and "<th>speedup</th>" in quantization


def test_every_repro_an_expectation_names_is_a_folder_with_its_report_and_script() -> None:
    from pathlib import Path

    from suite.run.records import apply_expectation
    from zoo.expectations import EXPECTATIONS

    root = Path(__file__).resolve().parent.parent
    named = [e for e in EXPECTATIONS if e.repro]
    assert named, "no expectation names a repro folder"
    for entry in named:
        folder = root / entry.repro
        assert (folder / "README.md").is_file() and list(folder.glob("*.py")), (
            f"{entry.repro} lacks README.md or a script"
        )
    # A row it decides points at the folder.
    entry = named[0]
    case_id = entry.case_glob.split("|")[0].replace("*", "x")
    record = Record(case_id, "m", "tf2onnx", 13, "static", "ort", "", "openvino", status=Status(entry.status))
    assert apply_expectation(record).expectation.endswith(f"(repro: {entry.repro})")


def test_the_two_tf_converters_sit_side_by_side_with_what_onnx2tf_makes_of_onnx_tfs_refusals() -> None:
    from suite.report.tf_converters import converters_table, render_converters, summary

    def row(model: str, path: str, status: str, **hops: str) -> dict:
        case_id = f"{model}-dynamo-op18-static-{path}"
        return {
            "case_id": case_id, "model": model, "exporter": "dynamo", "opset": 18, "shape": "static",
            "path": path, "status": status, **{f"{hop}_status": s for hop, s in hops.items()},
        }  # fmt: skip

    rows = [
        row("a", "tf", "unsupported", onnx_tf="unsupported", saved_model="skip", tf2onnx="skip"),
        row("a", "onnx2tf", "pass", onnx2tf="pass", tf2onnx="pass", tflite_float32="pass", tflite_float16="pass"),
        row("b", "tf", "unsupported", onnx_tf="unsupported"),
        row("b", "onnx2tf", "unsupported", onnx2tf="unsupported"),
        # onnx2tf's SavedModel passes; tf2onnx refuses the round trip's opset: a verdict, not a pass of every hop.
        row("e", "tf", "unsupported", onnx_tf="unsupported"),
        row("e", "onnx2tf", "unsupported", onnx2tf="pass", tf2onnx="unsupported", tflite_float32="pass"),
        # The exporter refused the opset: neither converter ran, so it is no refusal of onnx-tf's.
        row("f", "tf", "unsupported"),
        row("f", "onnx2tf", "unsupported"),
        row("c", "tf", "pass", onnx_tf="pass", saved_model="pass", tf2onnx="pass"),
        row(
            "c", "onnx2tf", "mismatch", onnx2tf="pass", tf2onnx="pass", tflite_float32="pass", tflite_float16="mismatch"
        ),
        row("d", "ort", "pass"),  # took neither TF path: not in the table
    ]
    frame = pd.DataFrame(rows)
    frame.loc[frame.case_id == "b-dynamo-op18-static-onnx2tf", "onnx2tf_failed_op"] = "CastLike"
    table = converters_table(frame)
    assert list(table.model) == ["a", "b", "c", "e", "f"]
    assert table.set_index("model").loc["c", "onnx2tf tflite_float16"] == "mismatch"
    assert summary(table) == {
        "exports": 5,
        "onnx-tf pass": 1,
        "onnx2tf pass": 1,
        "onnx-tf refused": 3,  # a, b, e
        "of which onnx2tf judged": 2,  # a's and e's SavedModels; b's refusal is no verdict
        "of which onnx2tf passes": 2,
        "of which onnx2tf passes every hop": 1,  # a
    }
    html = render_converters(frame)
    assert "onnx-tf refused an op in 3; onnx2tf&#x27;s SavedModel gives 2 of those a verdict" in html
    assert "<td>CastLike</td><td>1</td>" in html and 'href="#case-c-dynamo-op18-static-onnx2tf"' in html
    assert (
        converters_table(frame[frame.path != "onnx2tf"]).empty and render_converters(frame[frame.path == "ort"]) == ""
    )
