"""The main job: untimed paths on every core, then the timed ones alone, as one run with one report."""

import json
from pathlib import Path

import pandas as pd
import pytest

from suite.cli.run_profile import combined_status, main, plan

ROOT = Path(__file__).resolve().parent.parent


def test_timed_paths_run_alone_after_the_untimed_ones_run_on_every_core() -> None:
    args = ["suite/matrix", "--zoo-profile", "default", "-v", "--zoo-baseline=latest"]
    first, second = plan(args, cores=4, run_id="r1")
    assert first == ["suite/matrix", "--zoo-profile", "default", "-v", "--zoo-paths",
                     "ort,tf,version,optimize,quantize", "-n", "4", "--dist", "worksteal",
                     "--zoo-run-id", "r1"]  # fmt: skip
    assert second == ["suite/matrix", "--zoo-profile", "default", "-v", "--zoo-paths", "latency",
                      "--zoo-run-id", "r1", "--zoo-continue", "--zoo-baseline", "latest"]  # fmt: skip


def test_a_selection_of_untimed_paths_only_runs_once_on_every_core() -> None:
    share_out = ["--dist", "worksteal"]  # a process that runs out of cases takes queued ones from the other
    assert plan(["--zoo-profile", "corpus"], cores=2, run_id="r1") == [
        ["--zoo-profile", "corpus", "-n", "2", *share_out]
    ]
    assert plan(["--zoo-paths", "ort,tf"], cores=4, run_id="r1") == [["--zoo-paths", "ort,tf", "-n", "4", *share_out]]


@pytest.mark.parametrize(
    ("args", "cores"),
    [
        (["--zoo-profile", "quick"], 1),  # one core
        (["--zoo-paths=latency"], 4),  # timed paths only
        (["--zoo-profile", "default"], 1),  # one core: nothing to gain
        (["--zoo-profile", "default", "-n", "3"], 4),  # the user chose the parallelism
    ],
)
def test_otherwise_it_is_one_pytest_invocation_with_the_arguments_as_given(args: list[str], cores: int) -> None:
    assert plan(args, cores=cores, run_id="r1") == [args]


def test_exit_status_of_the_two_parts() -> None:
    assert combined_status([1, 0], baseline=False) == 1  # failures in either part
    assert combined_status([0, 6], baseline=True) == 6  # the gate over the whole run
    assert combined_status([1, 0], baseline=True) == 0  # the diff accepted the known failures
    assert combined_status([4], baseline=False) == 4  # a usage error stops the job


@pytest.mark.slow
def test_both_parts_end_in_one_run_folder_one_report_and_one_history_run(tmp_path: Path) -> None:
    args = [
        str(ROOT / "suite" / "matrix"),
        "--rootdir",
        str(ROOT),
        "-p",
        "no:cacheprovider",
        "-q",
        f"--zoo-report-dir={tmp_path}",
        f"--zoo-cache-dir={tmp_path / 'cache'}",
        "--zoo-models=mlp",
        "--zoo-exporters=torchscript",
        "--zoo-opsets=17",
        "--zoo-shapes=static",
        "--zoo-paths=ort,latency",
        "--zoo-latency-seconds=0.05",
        "--zoo-run-id=two-parts",
    ]
    invocations = plan(args, cores=2, run_id="two-parts")
    assert len(invocations) == 2 and "-n" in invocations[0] and "--zoo-continue" in invocations[1]
    assert main(args) == 0
    run_dir = tmp_path / "runs" / "two-parts"
    rows = pd.read_csv(run_dir / "results.csv")
    assert "mlp-torchscript-op17-static-ort_cpu" in set(rows.case_id)
    assert (rows.path == "latency").sum() == 5 and len(rows) == 6
    assert (rows.status == "pass").all(), rows[["case_id", "status", "message"]]
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert [p["part"] for p in meta["parts"]] == ["ort", "latency"]
    # Counts cover the whole run: the first part exported mlp, the second reused it.
    assert meta["exports_run"] == sum(p["exports_run"] for p in meta["parts"]) == 1
    assert meta["exports_cached"] == sum(p["exports_cached"] for p in meta["parts"])
    assert "lat.fp32.cpu" in (run_dir / "results.html").read_text()
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["two-parts"]

    from suite.history.store import HistoryStore

    store = HistoryStore(f"sqlite:///{tmp_path / 'history.sqlite'}")
    (run,) = store.list_runs()
    assert (run.run_id, run.parts, run.rows, run.state) == ("two-parts", 2, 6, "complete")


def test_continuing_a_run_that_has_no_folder_is_a_one_line_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = pytester.runpytest_subprocess(
        str(ROOT / "suite" / "matrix"),
        "--rootdir",
        str(ROOT),
        f"--zoo-report-dir={tmp_path}",
        "--zoo-models=mlp",
        "--zoo-run-id=nothing-here",
        "--zoo-continue",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: zoo-suite: --zoo-continue: * has no rows.jsonl to continue*"])
