"""A case's verdict is a function of the case alone: the same alone, after other cases, in another order."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from tests.test_plugin_e2e import ROOT, run_zoo

pytestmark = pytest.mark.slow
# gru through torch.export, dynamic: a second export of it in one worker used to fix the time
# axis that the first one (and either one alone) keeps dynamic.
GRU = ("--zoo-models=gru", "--zoo-exporters=dynamo", "--zoo-shapes=dynamic", "--zoo-paths=ort", "--zoo-no-cache")


def _statuses(pytester: pytest.Pytester, report_dir: Path, *args: str) -> dict[str, str]:
    result = run_zoo(pytester, report_dir, report_dir / "cache", *GRU, *args)
    assert result.ret in (0, 1), result.stdout.str()[-2000:]
    rows = pd.read_csv(report_dir / "latest" / "results.csv")
    return dict(zip(rows["case_id"], rows["status"] + ": " + rows["message"].astype("string").fillna(""), strict=True))


def test_a_verdict_is_the_same_alone_after_other_cases_and_in_another_order(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reversing plugin is imported by name in the pytester subprocess, which runs elsewhere.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    alone_18 = _statuses(pytester, tmp_path / "a18", "--zoo-opsets=18")
    alone_25 = _statuses(pytester, tmp_path / "a25", "--zoo-opsets=25")
    together = _statuses(pytester, tmp_path / "both", "--zoo-opsets=18,25")
    reversed_order = _statuses(pytester, tmp_path / "rev", "--zoo-opsets=18,25", "-p", "tests.reverse_order")
    assert together == {**alone_18, **alone_25} == reversed_order
    assert all(status.startswith("pass") for status in together.values()), together
