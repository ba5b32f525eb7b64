"""A report of many models: per-family counts, collapsible family groups, the filter box, the entries left out."""

import pandas as pd

from suite.report.families import excluded_entries, family_counts, render_family_counts
from suite.report.matrices import render_family_matrices


def row(model: str, family: str, exporter: str, status: str, stage: str = "done", message: str = "") -> dict:
    case = f"{model}-{exporter}-op20-static-ort_cpu"
    return {"case_id": case, "model": model, "family": family, "exporter": exporter, "opset": 20,
            "shape": "static", "path": "ort", "status": status, "stage": stage, "message": message}  # fmt: skip


FRAME = pd.DataFrame(
    [
        row("tv_resnet18", "tv_classification", "torchscript", "pass"),
        row("tv_resnet18", "tv_classification", "dynamo", "mismatch", "ort"),
        row("tv_vgg11", "tv_classification", "torchscript", "skip", "build", "tv_vgg11 excluded by the size cap"),
        row("tv_vgg11", "tv_classification", "dynamo", "skip", "build", "tv_vgg11 excluded by the size cap"),
        row("hf_bert", "hf_encoder", "torchscript", "pass"),
        row("hf_bert", "hf_encoder", "dynamo", "xfail", "export"),
    ]
)


def test_family_counts_and_pass_rates_leave_skips_out() -> None:
    table = family_counts(FRAME).set_index("family")
    assert table.loc["tv_classification", ["models", "cases", "pass", "mismatch", "skip"]].tolist() == [2, 4, 1, 1, 2]
    assert table.loc["tv_classification", "pass_rate"] == 0.5  # 1 of the 2 that ran
    assert table.loc["hf_encoder", "pass_rate"] == 0.5  # an xfail is a known failure, still not a pass


def test_several_families_get_a_counts_table_and_a_collapsible_group_each() -> None:
    page = render_family_counts(FRAME)
    assert '<a href="#family-hf_encoder">hf_encoder</a>' in page and page.count("<b>50%</b>") == 2
    matrices = render_family_matrices(FRAME, anchor=True)
    assert matrices.count('<details open class="family"') == 2
    assert 'id="family-tv_classification"' in matrices
    # Each family's table has every column of the path, so the groups line up.
    assert matrices.count("<th>static</th>") == 4
    # The filter box matches a matrix row on its model, case ids and statuses.
    assert 'data-filter="tv_resnet18 tv_resnet18-torchscript-op20-static-ort_cpu pass' in matrices
    assert render_family_counts(FRAME[FRAME["family"] == "hf_encoder"]) == ""


def test_entries_left_out_are_listed_once_with_their_reason() -> None:
    table = excluded_entries(FRAME)
    assert table.to_dict("records") == [
        {"model": "tv_vgg11", "family": "tv_classification", "reason": "tv_vgg11 excluded by the size cap"}
    ]
    assert "1 entry left out" in render_family_counts(FRAME)
