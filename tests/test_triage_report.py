"""The triage in the run folder: repro folders copied from the cache, the Triage section of results.html,
blame in the matrix cells, the frontier and diff.md, and triage.csv."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd

from suite.cli.merge_shards import merge
from suite.cli.rebuild import rebuild
from suite.core.record import Record, Status
from suite.core.run_folder import ROWS_FILE
from suite.history.diff import RunData, diff_runs, gate_failures
from suite.judge.triage.findings import Blame, Divergence, Findings, Repro
from suite.paths import PATHS
from suite.report.diff import render_markdown
from suite.report.results import new_run_dir, write_run
from suite.report.triage_section import render_triage

DECLARED = {"paths": [path.describe() for path in PATHS]}


def _row(model: str, exporter: str, status: Status, findings: Findings | None = None, **extra: object) -> dict:
    """An ort row of `model`, with the triage columns of `findings`."""
    columns = {**(findings.columns() if findings else {}), **extra}
    record = Record(
        f"{model}-{exporter}-op18-static-ort_cpu", model, exporter, 18, "static", "ort", provider_label="cpu",
        stage="ort" if status != Status.PASS else "done", status=status,
        message="output 'y': 3% outside atol" if status != Status.PASS else "", extra=columns,
    )  # fmt: skip
    return record.to_row()


def _runtime(repro_folder: Path) -> Findings:
    """ORT is wrong at a Conv node, with a repro kept in the cache."""
    where = Divergence(
        "conv1", "Conv", "conv1_out", "model.features.0", 0.31, 2.1e4, "ONNX's reference evaluator", "by output name"
    )
    repro = Repro("reproduces", str(repro_folder), nodes_before=412, nodes_after=1)
    reason = "ORT and the reference evaluator disagree at Conv (0.31); eager agrees with the evaluator"
    return Findings(Blame.RUNTIME, reason, "onnxruntime", "runtime|onnxruntime|Conv|values", where, repro, 3.2)


def _exporter() -> Findings:
    """The graph is wrong (ORT agrees with the reference evaluator); no repro for it."""
    where = Divergence("", "Gather", "g_out", "model.embed", 0.5, None, "eager's module output", "by module path")
    repro = Repro("not made: the export's failure needs the model", nodes_before=88)
    reason = "ORT agrees with the reference evaluator (1e-7); eager differs (0.5)"
    return Findings(Blame.EXPORTER, reason, "pytorch", "exporter|pytorch|Gather|values", where, repro)


def _cache_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "cache" / "triage" / "abc"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text("# ORT: Conv computes wrong values\n")
    (folder / "repro.py").write_text("print('reproduces')\n")
    (folder / "inputs").mkdir()
    (folder / "inputs" / "x.npy").write_bytes(b"\x93NUMPY")
    return folder


def _rows(runtime: Findings, exporter: Findings) -> list[dict]:
    return [
        _row("resnet18", "dynamo", Status.MISMATCH, runtime),
        _row("resnet34", "dynamo", Status.MISMATCH, runtime),
        _row("gpt2", "torchscript", Status.MISMATCH, exporter),
        _row("bert", "dynamo", Status.MISMATCH, triage_reason="not triaged: the run's triage limit (3) was reached"),
        _row("mlp", "dynamo", Status.PASS),
    ]


def test_the_run_folder_copies_each_repro_and_the_page_groups_signatures_by_blame(tmp_path) -> None:
    runtime, exporter = _runtime(_cache_folder(tmp_path)), _exporter()
    run_dir = new_run_dir(tmp_path / "reports")
    paths = write_run(run_dir, _rows(runtime, exporter), {"selection": "test", **DECLARED})

    copied = run_dir / "triage" / runtime.triage_id
    assert (copied / "README.md").read_text().startswith("# ORT: Conv")
    assert (copied / "repro.py").is_file() and (copied / "inputs" / "x.npy").is_file()
    assert not (run_dir / "triage" / exporter.triage_id).exists()  # no repro kept: no folder

    page = paths["html"].read_text()
    section = page[page.index('<section id="triage">') : page.index("</section>")]
    assert '<th colspan="8">exporter: 1 signature, 1 case</th>' in section
    assert '<th colspan="8">runtime: 1 signature, 2 cases</th>' in section
    assert section.index("exporter:") < section.index("runtime:")  # blame's own order
    assert "1 draft for onnxruntime." in section
    assert "Red cases by blame: exporter 1, runtime 2; not triaged: 1 (the run&#x27;s triage limit (3) was" in section
    assert f'id="triage-{runtime.triage_id}"' in section and f'id="triage-{exporter.triage_id}"' in section
    assert f'href="triage/{runtime.triage_id}/"' in section
    assert f'href="triage/{runtime.triage_id}/README.md"' in section
    assert "nodes 412 &rarr; 1" in section and "nodes 88 &rarr; ?" in section
    assert "21000× its floor" in section and "model.features.0" in section and "by output name" in section
    assert 'href="#case-resnet34-dynamo-op18-static-ort_cpu"' in section
    assert "not made: the export&#x27;s failure needs the model" in section

    matrix = page[page.index("Compatibility matrices") : page.index("</table>", page.index("Compatibility matrices"))]
    assert f'<a class="blame" href="#triage-{runtime.triage_id}"' in matrix
    assert "blame: runtime at Conv &#x27;conv1&#x27;" in matrix  # the hover text
    assert 'href="#case-resnet18-dynamo-op18-static-ort_cpu"' in matrix  # the click to the row still works

    signatures = pd.read_csv(paths["triage"])
    assert signatures["triage_id"].tolist() == [exporter.triage_id, runtime.triage_id]
    assert signatures["cases"].tolist() == [1, 2] and signatures["draft"].fillna("").tolist()[0] == ""
    assert signatures.iloc[1][["nodes_before", "nodes_after", "op"]].tolist() == [412, 1, "Conv"]

    frontier = pd.read_csv(paths["frontier"])
    blames = frontier.set_index("exporter")["blame"].fillna("").to_dict()
    assert blames == {"dynamo": "runtime", "torchscript": "exporter"}

    results = pd.read_csv(paths["csv"])
    triage_columns = [c for c in results.columns if c.startswith("triage_")]
    assert triage_columns == list(runtime.columns()) and results.columns[-1] == "triage_seconds"
    assert "triage_repros_missing" not in json.loads(paths["metadata"].read_text())


def _stream(run_dir: Path, rows: list[dict]) -> None:
    """rows.jsonl, as a run streams it."""
    (run_dir / ROWS_FILE).write_text("".join(json.dumps(row, default=str) + "\n" for row in rows))


def test_a_repro_gone_from_the_cache_is_said_and_a_rebuilt_or_merged_report_keeps_the_copy(tmp_path) -> None:
    cache = _cache_folder(tmp_path)
    runtime = _runtime(cache)
    rows = _rows(runtime, _exporter())
    run_dir = new_run_dir(tmp_path / "reports", "shard1")
    _stream(run_dir, rows)
    write_run(run_dir, rows, {"run_id": "r1", **DECLARED})
    shutil.rmtree(cache)  # `make clean-cache` after the run: the run folder has its copy
    assert "repro folder missing" not in rebuild(run_dir)["html"].read_text()
    second = new_run_dir(tmp_path / "reports", "shard2")
    _stream(second, [_row("vgg", "dynamo", Status.PASS)])
    (second / "metadata.json").write_text(json.dumps({"run_id": "r1"}))
    merged = merge([run_dir, second], tmp_path / "merged")  # on another machine than the shards' caches
    assert "repro folder missing" not in merged["html"].read_text()
    assert (tmp_path / "merged" / "triage" / runtime.triage_id / "repro.py").is_file()

    lost = _runtime(tmp_path / "cache" / "never-written")
    paths = write_run(new_run_dir(tmp_path / "reports"), _rows(lost, _exporter()), DECLARED)
    page = paths["html"].read_text()
    assert '<span class="missing"' in page and "repro folder missing from the cache</span>" in page
    assert "1 repro folder missing." in page
    missing = json.loads(paths["metadata"].read_text())["triage_repros_missing"]
    assert list(missing) == [lost.triage_id] and "never-written" in missing[lost.triage_id]


def test_rows_without_triage_columns_render_as_before(tmp_path) -> None:
    rows = [_row("gpt2", "torchscript", Status.MISMATCH), _row("mlp", "dynamo", Status.PASS)]
    paths = write_run(new_run_dir(tmp_path), rows, DECLARED)
    page = paths["html"].read_text()
    assert "No red case was triaged (1 red row)." in page and 'class="blame"' not in page
    assert "triage" not in paths and not (paths["html"].parent / "triage").exists()
    assert pd.read_csv(paths["frontier"])["blame"].isna().all()
    assert render_triage(pd.DataFrame([_row("mlp", "dynamo", Status.PASS)])) == ""  # nothing red: no section


def test_the_summary_counts_drafts_per_project(tmp_path) -> None:
    folder = _cache_folder(tmp_path)
    torch_bug = Findings(Blame.EXPORTER, "r", "pytorch", "exporter|pytorch|Add", repro=Repro("reproduces", str(folder)))
    rows = [
        _row("a", "dynamo", Status.MISMATCH, _runtime(folder)),
        _row("b", "dynamo", Status.MISMATCH, replace(_runtime(folder), signature="runtime|onnxruntime|Gemm")),
        _row("c", "dynamo", Status.MISMATCH, torch_bug),
    ]
    section = render_triage(pd.DataFrame(rows))
    assert "<b>2 drafts for onnxruntime, 1 for pytorch.</b>" in section
    assert "<i>none found</i>" in section  # torch_bug has no divergent node


def test_diff_md_names_the_blame_and_links_the_draft_of_a_newly_failing_case(tmp_path) -> None:
    runtime = _runtime(_cache_folder(tmp_path))
    base = RunData("base", pd.DataFrame([_row("resnet18", "dynamo", Status.PASS)]))
    cand = RunData("cand", pd.DataFrame([_row("resnet18", "dynamo", Status.MISMATCH, runtime)]))
    diff = diff_runs(base, cand)
    text = render_markdown(diff, base, cand, gate_failures(diff, ("correctness",)))
    assert "| case | base_status | cand_status | cand_stage | cand_message | blame |" in text
    assert f"| runtime ([draft](triage/{runtime.triage_id}/README.md)) |" in text
    untriaged = RunData("cand", pd.DataFrame([_row("resnet18", "dynamo", Status.MISMATCH)]))
    plain = render_markdown(diff_runs(base, untriaged), base, untriaged, [])
    assert "blame" not in plain  # a run without triage keeps its table as it was
