"""suite.cli.runtime_of and env_ab: what a run folder needs to be timed again in another environment."""

import json
from pathlib import Path

import pytest

from suite.cli import runtime_of


def test_a_folders_onnxruntime_is_its_metadatas_else_its_rows(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "rows.jsonl").write_text(
        json.dumps({"case_id": "a", "ort_package": "onnxruntime", "ort_version": "1.31.1"}) + "\n"
    )
    assert runtime_of.runtime_requirement(folder) == "onnxruntime==1.31.1"  # a killed run: rows only
    meta = {"onnxruntime": {"ort_package": "onnxruntime-openvino", "ort_version": "1.24.1"}}
    (folder / "metadata.json").write_text(json.dumps(meta))
    assert runtime_of.main([str(folder)]) == 0
    assert capsys.readouterr().out == "onnxruntime-openvino==1.24.1\n"


def test_a_folder_that_names_no_onnxruntime_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "rows.jsonl").write_text('{"case_id": "a"}\n')
    assert runtime_of.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert runtime_of.main([str(tmp_path / "nothing")]) == 2


def test_env_ab_takes_the_runs_own_modules_from_its_recorded_command_line(tmp_path: Path) -> None:
    from suite.cli.env_ab import recorded_modules

    argv = ["suite/matrix", "--zoo-module=/a/mine.py", "--zoo-models", "x", "--zoo-module", "pkg.models"]
    (tmp_path / "metadata.json").write_text(json.dumps({"argv": argv}))
    assert recorded_modules(tmp_path) == ["/a/mine.py", "pkg.models"]
    assert recorded_modules(tmp_path / "no-metadata") == []
