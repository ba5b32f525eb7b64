"""End to end: the latency path through the real plugin, its serial tier and its refusals."""

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.test_plugin_e2e import run_zoo

pytestmark = pytest.mark.slow
MLP = ("--zoo-models=mlp", "--zoo-exporters=torchscript", "--zoo-opsets=17")


def test_latency_rows_join_benchmark_json_and_run_after_correctness(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_zoo(
        pytester, tmp_path, tmp_path / "cache", *MLP, "--zoo-paths=latency,ort", "--zoo-latency-seconds=0.2"
    )
    assert result.ret == 0, result.stdout.str()[-3000:]
    run = (tmp_path / "latest").resolve()
    order = [json.loads(line)["path"] for line in (run / "rows.jsonl").read_text().splitlines()]
    assert order[:2] == ["ort", "ort"] and set(order[2:]) == {"latency"}
    latency = pd.read_csv(run / "latency.csv").set_index("variant")
    assert sorted(latency.index) == [
        "fp32",
        "opt_ort_extended",
        "quant_fp16",
        "quant_int8_dynamic",
        "quant_int8_static_minmax",
    ]
    fp32 = latency.loc["fp32"]
    assert fp32.status == "pass" and fp32.provider_label == "cpu" and fp32.placement_share == 1.0
    assert 0 < fp32.p50_ms <= fp32.p90_ms <= fp32.p99_ms
    assert fp32.rounds >= 15 and fp32.eager_p50_ms > 0 and fp32.vs_fp32 == 1.0 and fp32.eager_device == "cpu"
    assert fp32.large_batch == 8 and fp32.large_batch_throughput_per_s > 0
    assert fp32.intra_op_threads == 2 and fp32.inter_op_threads == 1
    assert fp32.numerics_policy.startswith("FP32 judged on the timed session") and pd.isna(fp32.get("tf32_max_abs_err"))
    # pytest-benchmark's own JSON sits beside the rows and joins them by case id.
    benchmarks = json.loads((run / "benchmark.json").read_text())["benchmarks"]
    by_case = {b["extra_info"]["case_id"]: b["stats"] for b in benchmarks}
    rows = pd.read_csv(run / "results.csv").set_index("case_id")
    fp32_id = "mlp-torchscript-op17-dynamic-lat.fp32.cpu"
    # Rows keep 5 decimals (10 ns): a 4 µs median is 0.1% off by rounding alone.
    assert by_case[fp32_id]["median"] * 1000 == pytest.approx(rows.loc[fp32_id, "p50_ms"], rel=1e-3, abs=5e-6)
    assert set(rows["ort_package"]) == {json.loads((run / "metadata.json").read_text())["onnxruntime"]["ort_package"]}


def test_a_provider_that_ran_nothing_is_a_fallback_row(pytester: pytest.Pytester, tmp_path: Path) -> None:
    import onnxruntime as ort

    if "AzureExecutionProvider" not in ort.get_available_providers():
        pytest.skip("no provider here that onnxruntime accepts but places no node on")
    result = run_zoo(pytester, tmp_path, tmp_path / "cache", *MLP, "--zoo-paths=latency", "--zoo-providers=azure")
    assert result.ret == 1
    rows = pd.read_csv(tmp_path / "latest" / "latency.csv")
    assert set(rows["status"]) == {"fallback"}
    assert rows["message"].str.contains("AzureExecutionProvider is in the session but no node was placed on it").all()
    assert rows["p50_ms"].isna().all()  # nothing was timed on a provider that did not run


def test_latency_is_refused_under_xdist_and_missing_providers_are_usage_errors(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    refused = run_zoo(pytester, tmp_path, tmp_path / "cache", *MLP, "--zoo-paths=latency", "-n", "2")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*latency path is measured serially and cannot run under pytest-xdist*"])
    # From the profile (not asked by name) it is left out with a notice, and the rest runs.
    collected = run_zoo(pytester, tmp_path, tmp_path / "cache", *MLP, "-n", "2", "--co", "-q")
    assert "lat." not in collected.stdout.str()
    missing = run_zoo(pytester, tmp_path, tmp_path / "cache", *MLP, "--zoo-paths=latency", "--zoo-providers=cuda")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
    missing.stderr.fnmatch_lines(["*CUDAExecutionProvider is not offered by onnxruntime* it needs onnxruntime-gpu*"])


def test_rows_do_not_depend_on_pytest_benchmark_saving_its_json(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_zoo(
        pytester, tmp_path, tmp_path / "cache", *MLP, "--zoo-paths=latency", "--zoo-latency-seconds=0.1",
        "-k", "lat.fp32", f"--benchmark-json={tmp_path / 'missing' / 'dir' / 'b.json'}",
    )  # fmt: skip
    assert result.ret != 0  # pytest-benchmark fails to write its JSON at the end...
    rows = pd.read_csv(tmp_path / "latest" / "results.csv")  # ...after the run folder was written
    assert list(rows["status"]) == ["pass"] and rows["p50_ms"].iloc[0] > 0


def test_an_old_pytest_benchmark_is_refused_before_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from suite.plugin.settings import check_pytest_benchmark
    from suite.selection.profiles import SelectionError

    real = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata, "version", lambda name: "4.0.0" if name == "pytest-benchmark" else real(name)
    )
    with pytest.raises(SelectionError, match=r"needs pytest-benchmark >=5\.3,<6, found 4\.0\.0"):
        check_pytest_benchmark()
