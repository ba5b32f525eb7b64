"""Corpus entries take real weights from a local save_pretrained folder; the row says which (nothing downloaded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(tmp_path: Path, report: str, *extra: str) -> pd.Series:
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix" / "test_ort.py"), "--rootdir", str(ROOT),
            "-p", "no:cacheprovider", "-q", "--zoo-module=zoo.corpus.transformers_zoo", "--zoo-models=hf_bert",
            "--zoo-exporters=torchscript", "--zoo-opsets=17", "--zoo-shapes=static",
            f"--zoo-report-dir={tmp_path / report}", f"--zoo-cache-dir={tmp_path / 'cache'}", "--zoo-history=none",
            *extra,
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    return pd.read_csv(tmp_path / report / "latest" / "results.csv").iloc[0]


@pytest.mark.slow
def test_a_save_pretrained_folder_goes_down_the_ort_path_with_its_weights(tmp_path: Path) -> None:
    import torch
    from transformers import BertModel

    from zoo.corpus.transformers_zoo import shrunk_config

    torch.manual_seed(1234)  # other weights than the entry's seeded ones
    model = BertModel(shrunk_config("bert", {}))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.01)  # a mark the random init cannot have
    model.save_pretrained(tmp_path / "checkpoints" / "hf_bert")

    random = _run(tmp_path, "random")
    real = _run(tmp_path, "real", f"--zoo-checkpoints={tmp_path / 'checkpoints'}")
    assert random["weights_source"] == "seeded random weights"
    assert real["weights_source"] == f"checkpoint {tmp_path / 'checkpoints' / 'hf_bert'}"
    assert real["weights_digest"] != random["weights_digest"]  # its own weights: another digest, export and reference
    assert real["status"] == "pass" and real["compared_elements"] > 0


def test_a_checkpoints_folder_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "suite" / "matrix" / "test_ort.py"), "--rootdir", str(ROOT),
         "-p", "no:cacheprovider", "-q", f"--zoo-checkpoints={tmp_path / 'missing'}", "--collect-only"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 4
    assert "--zoo-checkpoints" in result.stderr + result.stdout and "no such folder" in result.stderr + result.stdout
