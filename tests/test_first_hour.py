"""What a new user meets in the first hour: a run that tested nothing fails and says why, a module
the selection leaves out is named, an empty shard is a no-op, and zoo-suite's summary is last."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.zoo_runs import run_matrix

pytestmark = pytest.mark.slow
ONE_EXPORT = ("--zoo-models=mlp", "--zoo-exporters=torchscript", "--zoo-shapes=static", "--zoo-paths=ort")


def test_a_run_that_judged_nothing_fails_with_one_line_and_keeps_its_rows(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    result = run_matrix(pytester, tmp_path, "--zoo-models=mlp", "--zoo-paths=ort", "--zoo-opsets=99")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.outlines if line.startswith("ERROR: zoo-suite: no case was judged")]
    assert len(errors) == 1 and "unsupported 4" in errors[0] and "--zoo-opsets" in errors[0], result.outlines[-5:]
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv")
    assert len(rows) == 4 and set(rows["status"]) == {"unsupported"}  # nothing lost: the rows say why
    meta = json.loads((tmp_path / "reports" / "latest" / "metadata.json").read_text())
    assert meta["judged_cases"] == 0


def test_a_module_whose_models_the_selection_leaves_out_is_named(pytester: pytest.Pytester, tmp_path: Path) -> None:
    module = tmp_path / "mine.py"
    module.write_text(
        "from zoo import InputSpec, register_model\n\n"
        "@register_model(inputs=[InputSpec('x', (1, 4))])\n"
        "def mine_linear():\n    import torch\n    return torch.nn.Linear(4, 2)\n"
    )
    result = run_matrix(pytester, tmp_path, "--zoo-profile=quick", f"--zoo-module={module}", "--collect-only")
    notes = [line for line in result.outlines if "--zoo-module" in line and "NOTE" in line]
    assert len(notes) == 1 and "mine_linear" in notes[0] and "add --zoo-models mine_linear" in notes[0], notes


def test_a_shard_without_models_exits_0_and_says_why(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_matrix(pytester, tmp_path, *ONE_EXPORT, "--zoo-shard=2/2", "-q")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["zoo-suite: NOTE: shard 2/2 has no models (1 models split by model): nothing to run"])


def test_zoo_suites_summary_comes_after_pytest_benchmarks_tables(pytester: pytest.Pytester, tmp_path: Path) -> None:
    args = ("--zoo-models=mlp", "--zoo-opsets=torchscript:17", "--zoo-shapes=static", "--zoo-paths=latency")
    result = run_matrix(pytester, tmp_path, *args, "--zoo-latency-seconds=0.2", "-k", "lat.fp32")
    assert result.ret == 0, result.outlines[-20:]
    lines = result.outlines
    table = max(i for i, line in enumerate(lines) if "benchmark" in line and "----" in line)
    summary = next(i for i, line in enumerate(lines) if "zoo-suite" in line and "====" in line)
    assert table < summary, "\n".join(lines[-40:])
