"""Merging run folders from several environments."""

import json
from pathlib import Path

import pandas as pd
import pytest

from suite.cli.combine import main


def _run(folder: Path, package: str, provider: str, p50: float) -> Path:
    folder.mkdir(parents=True)
    row = {
        "case_id": f"m-torchscript-op17-static-lat.fp32.{provider}",
        "path": f"lat.fp32.{provider}",
        "model": "m",
        "variant": "fp32",
        "status": "pass",
        "p50_ms": p50,
        "provider_label": provider,
        "ort_package": package,
    }
    (folder / "rows.jsonl").write_text(json.dumps(row) + "\n")
    (folder / "metadata.json").write_text(json.dumps({"onnxruntime": {"ort_package": package, "ort_version": "1"}}))
    return folder


def test_two_environments_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cpu = _run(tmp_path / "runs" / "a", "onnxruntime", "cpu", 6.0)
    openvino = _run(tmp_path / "runs" / "b", "onnxruntime-openvino", "openvino", 3.0)
    assert main([str(cpu), str(openvino), "--out", str(tmp_path / "combined")]) == 0
    table = pd.read_csv(tmp_path / "combined" / "latency_by_provider.csv").iloc[0]
    assert table["p50 ms: onnxruntime / cpu"] == 6.0
    assert table["p50 ms: onnxruntime-openvino / openvino"] == 3.0
    assert table["onnxruntime-openvino / openvino speedup vs onnxruntime / cpu"] == 2.0
    assert "onnxruntime-openvino" in (tmp_path / "combined" / "combined.html").read_text()
    assert "latency_by_provider.csv" in capsys.readouterr().out


def test_a_folder_without_rows_or_with_damaged_rows_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "has no rows.jsonl" in capsys.readouterr().err
    (tmp_path / "rows.jsonl").write_text('{"case_id": "x"}\n{not json\n')
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "rows.jsonl:2 is not JSON" in capsys.readouterr().err
