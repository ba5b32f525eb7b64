"""End to end: a folder of ONNX files from outside (ONNX Model Zoo layout) down every path."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run_onnx_dir(pytester: pytest.Pytester, tmp_path: Path, folder: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(ROOT / "suite" / "matrix"),
        "--rootdir",
        str(ROOT),
        "-p",
        "no:cacheprovider",
        f"--zoo-onnx-dir={folder}",
        "--zoo-exporters=onnx",
        f"--zoo-report-dir={tmp_path / 'reports'}",
        f"--zoo-cache-dir={tmp_path / 'cache'}",
        "--zoo-history=none",
        *args,
        timeout=900,
    )


def test_a_model_zoo_folder_goes_down_every_path_against_its_stored_outputs(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    folder = tmp_path / "zoo"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_onnx_zoo.py"), str(folder)], check=True, timeout=300)
    result = run_onnx_dir(pytester, tmp_path, folder, "--zoo-onnx-dims=batch=2", "--zoo-latency-seconds=0.05")
    assert result.ret == 1  # the deliberately altered data set fails; the run completed
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv").set_index("case_id")
    assert len(rows) == result.parseoutcomes().get("passed", 0) + result.parseoutcomes().get("failed", 0) + (
        result.parseoutcomes().get("skipped", 0)
    )
    # 12 entries, each on every path: 1 ort, 1 version, 1 tf, 4 optimizations, 3 quantizations, 5 latency variants
    assert rows.groupby("path").size().to_dict() == {
        "ort": 12,
        "version": 12,
        "tf": 12,
        "optimize": 48,
        "quantize": 36,
        "latency": 60,
    }
    assert set(rows.exporter) == {"onnx"} and not (rows.status == "crash").any() and rows.message.notna().sum() > 0
    ort = rows[rows.path == "ort"]
    assert (ort.drop("mlp_altered-onnx-op12-static-ort_cpu").status == "pass").all(), ort.message.to_dict()
    altered = rows.loc["mlp_altered-onnx-op12-static-ort_cpu"]
    assert altered.status == "mismatch" and altered.message.endswith("(against the stored outputs of test_data_set_1)")
    assert rows.loc["mlp_op9-onnx-op9-static-ort_cpu", "reference_source"] == "stored outputs (3 test data sets)"
    assert rows.loc["mlp_op9-onnx-op9-static-ort_cpu", "sizes_checked"] == "static;static#1;static#2"
    assert rows.loc["convnet_dynamic-onnx-op13-static-ort_cpu", "reference_source"].startswith("ONNX Runtime CPU")
    # Old files convert up: IR 3 at opset 7 to 13, 17 and 21, each run against the stored outputs.
    assert rows.loc["gemm_ir3-onnx-op7-static-version", "status"] == "pass"
    # Every other row is a verdict a built-in model's row can have, never a harness failure.
    assert set(rows.status) <= {"pass", "skip", "mismatch", "unsupported"}
    html = (tmp_path / "reports" / "latest" / "results.html").read_text()
    assert "gemm_ir3" in html and "lstm_op15" in html
