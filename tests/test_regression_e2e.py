"""End to end through the real plugin: history, injected regressions caught (and only they), shards of one run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from suite.cli.merge_shards import merge
from suite.core.run_folder import EXIT_REGRESSION, HistoryError
from suite.history.references import resolve
from suite.history.store import HistoryStore
from tests.test_plugin_e2e import ROOT, run_zoo

pytestmark = pytest.mark.slow
INJECTED = ROOT / "tests" / "injected_zoo.py"
ONE_EXPORT = ("--zoo-exporters=torchscript", "--zoo-opsets=17", "--zoo-shapes=static")


def run_suite(pytester: pytest.Pytester, report_dir: Path, *args: str, inject: bool = False) -> pytest.RunResult:
    """The plugin on the injected zoo, with ZOO_INJECT set for that run only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_INJECT", "1" if inject else "0")
        return run_zoo(pytester, report_dir, report_dir / "cache", f"--zoo-module={INJECTED}", *args)


def test_injected_regressions_are_named_and_nothing_else(pytester: pytest.Pytester, tmp_path: Path) -> None:
    args = (
        "--zoo-models=inj_*",
        *ONE_EXPORT,
        "--zoo-paths=ort,latency",
        "--zoo-latency-seconds=0.3",
        "-k",
        "ort_cpu or lat.fp32",
    )
    # Five earlier runs: the latency verdict needs a history to tell a change from this machine's noise.
    for _ in range(5):
        result = run_suite(pytester, tmp_path, *args)
        assert result.ret == 0, result.stdout.str()[-3000:]
    result = run_suite(pytester, tmp_path, *args, "--zoo-baseline=latest", "--zoo-fail-on=all", inject=True)
    output = result.stdout.str()
    assert result.ret == EXIT_REGRESSION, output[-3000:]
    diff = pd.read_csv(tmp_path / "latest" / "diff.csv").set_index("case_id")
    regressed = set(diff.index[diff["change"] == "regressed"])
    assert {case.split("-")[0] for case in regressed} == {"inj_nan", "inj_export"}
    latency = diff[["latency_verdict", "p50_ratio", "detectable_change", "history_runs", "latency_reason"]].dropna()
    slower = set(diff.index[diff["latency_verdict"] == "slower"])
    assert slower == {"inj_slow-torchscript-op17-static-lat.fp32.cpu"}, latency.to_string()
    untouched = diff[~diff.index.str.startswith(("inj_nan", "inj_export"))]
    assert (untouched["change"] == "unchanged").all()
    assert (
        not untouched["latency_verdict"]
        .isin(["slower", "faster"])
        .drop("inj_slow-torchscript-op17-static-lat.fp32.cpu")
        .any()
    )
    summary = (tmp_path / "latest" / "diff.md").read_text()
    assert "**FAIL**" in summary and "injected export failure" in summary and "non-finite" in summary
    page = (tmp_path / "latest" / "results.html").read_text()
    assert page.index("Since the baseline") < page.index("Compatibility matrices")
    assert "REGRESSION: 4 regressed (2 causes), 1 slower" in output  # each model's latency case under its ort case
    store = HistoryStore(f"sqlite:///{tmp_path / 'history.sqlite'}")
    runs = store.list_runs()
    assert len(runs) == 6 and all(r.state == "complete" for r in runs)
    # Per-round samples are kept for every timed case (the failed export was never timed).
    assert sorted(resolve("latest", store).samples) == [
        f"inj_{name}-torchscript-op17-static-lat.fp32.cpu" for name in ("nan", "slow", "stable")
    ]


def test_an_export_that_bakes_its_batch_is_one_regression_under_its_ort_case(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    args = (
        "--zoo-models=baked_on_inject",
        "--zoo-exporters=torchscript",
        "--zoo-opsets=17",
        "--zoo-shapes=dynamic",
        "--zoo-paths=ort,latency",
        "--zoo-latency-seconds=0.2",
        "-k",
        "ort_cpu or lat.fp32 or lat.opt_ort_extended",
    )
    first = run_suite(pytester, tmp_path, *args)
    assert first.ret == 0, first.stdout.str()[-3000:]
    result = run_suite(pytester, tmp_path, *args, "--zoo-baseline=latest", inject=True)
    output = result.stdout.str()
    assert result.ret == EXIT_REGRESSION, output[-3000:]
    diff = pd.read_csv(tmp_path / "latest" / "diff.csv", keep_default_na=False)
    export = "baked_on_inject-torchscript-op17-dynamic"
    root = f"{export}-ort_cpu"
    derived = [f"{export}-lat.fp32.cpu", f"{export}-lat.opt_ort_extended.cpu"]
    regressed = diff[diff["change"] == "regressed"]
    assert list(regressed["case_id"]) == [root, *derived], diff[["case_id", "change", "root_case"]].to_string()
    assert list(regressed["root_case"]) == ["", root, root]
    assert "a size is baked into the graph" in regressed["cand_message"].iloc[0]
    assert all("GEMM" in message for message in regressed["cand_message"].iloc[1:])
    summary = (tmp_path / "latest" / "diff.md").read_text()
    assert "**FAIL**: 3 regressed (1 cause)" in summary and f"`{root}` (3 cases, 1 cause)" in summary
    assert "a size is baked into the graph" in summary and "\x1b[" not in summary
    assert "REGRESSION: 3 regressed (1 cause)" in output
    # The terminal says the cause once: the root, whose message explains it, with its derived cases counted.
    lines = [ln for ln in output.splitlines() if ln.startswith("REGRESSED ")]
    assert len(lines) == 1 and lines[0].startswith(f"REGRESSED {root}:"), lines
    assert lines[0].endswith("(+2 derived: 3 cases, 1 cause)") and "a size is baked into the graph" in lines[0]


def test_two_shards_make_the_same_run_as_one_unsharded(pytester: pytest.Pytester, tmp_path: Path) -> None:
    args = ("--zoo-models=inj_stable,inj_slow,mlp", "--zoo-exporters=torchscript", "--zoo-opsets=17", "--zoo-paths=ort")
    whole = run_suite(pytester, tmp_path / "whole", *args, "--zoo-history=none")
    assert whole.ret == 0, whole.stdout.str()[-3000:]
    history = f"sqlite:///{tmp_path / 'shards.sqlite'}"
    for shard in ("1/2", "2/2"):
        result = run_suite(
            pytester,
            tmp_path / "shards",
            *args,
            f"--zoo-shard={shard}",
            "--zoo-run-id=nightly-1",
            f"--zoo-history={history}",
        )
        assert result.ret == 0, result.stdout.str()[-3000:]
    store = HistoryStore(history)
    (run,) = store.list_runs()
    assert (run.run_id, run.parts, run.state) == ("nightly-1", 2, "complete")
    sharded = {r["case_id"]: r["status"] for r in store.run_rows("nightly-1")}
    unsharded = pd.read_csv(tmp_path / "whole" / "latest" / "results.csv").set_index("case_id")["status"].to_dict()
    assert sharded == unsharded and len(sharded) == 6
    folders = sorted(p.name for p in (tmp_path / "shards" / "runs").iterdir())
    assert folders == ["nightly-1-shard1of2", "nightly-1-shard2of2"]
    # The shards' folders merge into one report with the unsharded run's cases and statuses.
    shard_dirs = sorted((tmp_path / "shards" / "runs").iterdir())
    paths = merge(shard_dirs, tmp_path / "merged")
    merged = pd.read_csv(paths["csv"]).set_index("case_id")["status"].to_dict()
    assert merged == unsharded
    with pytest.raises(HistoryError, match="is in both"):
        merge([shard_dirs[0], Path(shutil.copytree(shard_dirs[0], tmp_path / "copy"))], tmp_path / "twice")


def test_an_unknown_baseline_is_refused_before_any_case_runs(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_suite(pytester, tmp_path, "--zoo-models=inj_stable", *ONE_EXPORT, "--zoo-baseline=nightly")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'nightly' is neither a run folder, a baseline name nor a run id" in result.stderr.str()
    assert not (tmp_path / "runs").exists()


def test_a_run_stopped_early_is_stored_as_interrupted(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_zoo(
        pytester, tmp_path, tmp_path / "cache", "--zoo-models=fake_forward_raises", "--zoo-exporters=torchscript",
        "--zoo-opsets=17", "--zoo-paths=ort", "-x",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    (run,) = HistoryStore(f"sqlite:///{tmp_path / 'history.sqlite'}").list_runs()
    assert (run.state, run.rows) == ("interrupted", 2)


def test_a_run_without_history_needs_no_database_library(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a GPU machine whose image has no SQLAlchemy: the run must not import it.
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['sqlalchemy'] = None\n")
    monkeypatch.setenv("PYTHONPATH", f"{blocker}:{ROOT}")
    result = run_suite(
        pytester, tmp_path, "--zoo-models=inj_stable", *ONE_EXPORT, "--zoo-paths=ort", "--zoo-history=none"
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert (tmp_path / "latest" / "results.csv").is_file() and not (tmp_path / "history.sqlite").exists()
