"""Fuzzed ONNX files from outside: every one a labelled row, the run never taken down, nothing left
running, and nothing read or written outside the sandbox folder."""

import collections
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.onnx_fuzz import MUTATIONS, make_mutants
from tests.process_group import assert_group_ended

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = 330
LABELLED = {"pass", "skip", "model_error", "runtime_error", "mismatch", "unsupported", "transform_error", "crash"}
LABELLED |= {"timeout"}

pytestmark = pytest.mark.slow


def tree_state(folder: Path) -> dict[str, str]:
    """Every entry under `folder`: a file's sha256, a symlink's target, a folder's mark."""
    state = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            state[key] = f"-> {os.readlink(path)}"
        elif path.is_file():
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[key] = "dir"
    return state


def test_fuzzed_models_each_end_as_a_labelled_row_and_nothing_escapes(tmp_path: Path) -> None:
    sandbox, canary = tmp_path / "sandbox", tmp_path / "canary.bin"
    canary.write_bytes(b"\x01" * 4096)
    mutants = make_mutants(sandbox, MUTANTS, seed=0, canary=canary)
    assert {m.kind for m in mutants} == set(MUTATIONS)
    before, outside_before = tree_state(sandbox), tree_state(tmp_path)
    os.utime(canary, (1_000_000, 2_000_000))  # atime before mtime: a read would move it (relatime)

    command = [
        sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix"), "--rootdir", str(ROOT),
        "-p", "no:cacheprovider", "-q", f"--zoo-onnx-dir={sandbox}", "--zoo-exporters=onnx",
        "--zoo-paths=ort,version,optimize,quantize", f"--zoo-report-dir={tmp_path / 'reports'}",
        f"--zoo-cache-dir={tmp_path / 'cache'}", "--zoo-history=none", "--zoo-timeout=60",
    ]  # fmt: skip
    # Its own session, so whatever it leaves running is found by its process group.
    (tmp_path / "work").mkdir()  # its working directory (pytest-benchmark keeps .benchmarks there)
    run = subprocess.Popen(command, cwd=tmp_path / "work", start_new_session=True, stdout=subprocess.PIPE, text=True)
    output, _ = run.communicate(timeout=900)
    assert run.returncode == 1, output[-3000:]  # cases failed; the run itself completed
    assert_group_ended(run.pid)

    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv")
    ort = rows[rows.path == "ort"]
    assert sorted(ort.model) == sorted(m.name for m in mutants)  # one ort row per mutant
    assert rows.case_id.is_unique and set(rows.status) <= LABELLED
    assert rows.message[rows.status != "pass"].notna().all()
    assert not rows.message.fillna("").str.contains("harness error|\n").any()
    assert canary.stat().st_atime == 1_000_000 and canary.stat().st_mtime == 2_000_000  # before reading it below
    assert tree_state(sandbox) == before  # nothing written into the model folders
    outside = {k: v for k, v in tree_state(tmp_path).items() if not k.startswith(("reports", "cache", "work"))}
    assert outside == outside_before  # the sandbox and the canary beside it, as they were
    escapes = ort[ort.model.str.startswith("escape")]
    assert (escapes.status == "model_error").sum() >= len(escapes) - 2, escapes.message.tolist()
    print(collections.Counter(zip(rows.path, rows.status, strict=True)))
