"""End to end (issue #24): every ONNX value type, and scikit-learn's ONNX-ML models, through the suite,
held to an independent referee (scripts/check_onnx_dir.py: ONNX Runtime CPU against the stored outputs
with numpy's assert_allclose, nothing of the suite imported).

Every entry the referee finds ONNX Runtime runs and reproduces must pass; every other row names a
reason that is not the suite's (no crash, no harness error).
"""

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.zoo_runs import run_matrix

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
# What a row of a file ONNX Runtime cannot run may say instead of pass: never crash, never a harness error.
TOOL_VERDICTS = {"pass", "unsupported", "runtime_error", "mismatch", "skip"}

pytestmark = pytest.mark.slow


def _make(script: str, folder: Path) -> Path:
    subprocess.run([sys.executable, str(SCRIPTS / script), str(folder)], check=True, capture_output=True, timeout=300)
    return folder


def _referee(folder: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / "check_onnx_dir.py"), str(folder)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    verdicts = re.findall(r"^(\S+)\s+(match|mismatch|ort-error)\b", done.stdout, re.MULTILINE)
    return dict(verdicts)


def _rows(tmp_path: Path) -> pd.DataFrame:
    rows = pd.read_csv(tmp_path / "reports" / "latest" / "results.csv")
    # A row refused before its file was read names no source file: its model name stands in.
    files = zip(rows.source_file, rows.model, strict=True)
    rows["entry"] = [Path(f).parent.name if isinstance(f, str) else model for f, model in files]
    return rows


def test_every_value_type_the_referee_reproduces_passes_and_the_rest_say_why(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    folder = _make("make_value_zoo.py", tmp_path / "values")
    referee = _referee(folder)
    assert len(referee) >= 50 and sum(v == "match" for v in referee.values()) >= 30
    result = run_matrix(pytester, tmp_path, f"--zoo-onnx-dir={folder}", "--zoo-exporters=onnx", "--zoo-paths=ort")
    assert result.ret in (0, 1)
    rows = _rows(tmp_path).set_index("entry")
    assert set(rows.status) <= TOOL_VERDICTS, rows.status.value_counts().to_dict()
    reproduced = [name for name, verdict in referee.items() if verdict == "match"]
    failing = rows.loc[reproduced][rows.loc[reproduced].status != "pass"]
    assert failing.empty, failing[["status", "message"]].to_dict("index")
    # What ORT cannot do is named as such: a bfloat16 input, a complex tensor, an op without a kernel.
    assert (
        rows.loc["bfloat16_concat", "status"] == "unsupported" and "bfloat16" in rows.loc["bfloat16_concat", "message"]
    )
    assert rows.loc["complex64_identity", "message"] == "ONNX Runtime does not support values of type tensor(complex64)"
    assert rows.loc["uint16_max", "message"].startswith("ONNX Runtime has no kernel for Max")
    # Expected NaN/Inf matched in place, and the row says so; the checker's refusal kept beside a pass.
    assert "NaN/Inf matched in place (stored outputs)" in rows.loc["nan_inf", "tolerance_rule"]
    assert (
        rows.loc["checker_rejects", "status"] == "pass"
        and "onnx.checker" in rows.loc["checker_rejects", "checker_error"]
    )


def test_scikit_learn_models_go_down_every_path_that_applies(pytester: pytest.Pytester, tmp_path: Path) -> None:
    folder = _make("make_onnxml_zoo.py", tmp_path / "onnxml")
    assert set(_referee(folder).values()) == {"match"}
    paths = "--zoo-paths=ort,version,optimize,quantize"
    result = run_matrix(pytester, tmp_path, f"--zoo-onnx-dir={folder}", "--zoo-exporters=onnx", paths)
    assert result.ret in (0, 1)
    rows = _rows(tmp_path)
    assert set(rows.status) <= TOOL_VERDICTS, rows[["case_id", "status", "message"]].to_dict("records")
    ort = rows[rows.path == "ort"].set_index("entry")
    assert (ort.status == "pass").all() and len(ort) == 6  # ZipMap's sequence of maps and string labels included
    # A graph of ONNX-ML ops only has nothing to quantize: skip, never a vacuous pass.
    ridge = rows[(rows.entry == "diabetes_ridge") & (rows.path == "quantize")]
    assert (
        len(ridge) > 0 and (ridge.status == "skip").all() and ridge.message.str.startswith("nothing to quantize").all()
    )
    # onnxscript's IR cannot read a map type: its refusal is named, not a transform_error.
    zipmap_onnxscript = rows[(rows.entry == "iris_logreg_zipmap") & (rows.variant == "opt_onnxscript")]
    assert zipmap_onnxscript.status.tolist() == ["unsupported"]
    assert "Map types are not supported" in zipmap_onnxscript.message.iloc[0]
