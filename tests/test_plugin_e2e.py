"""End to end: run the real plugin on a tiny zoo subset through pytester and read the CSV it writes."""

import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE_ZOO = ROOT / "tests" / "fake_zoo.py"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoo-cache")


def run_zoo(pytester: pytest.Pytester, report_dir: Path, cache_dir: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        str(ROOT / "suite" / "matrix"),
        "--rootdir",
        str(ROOT),
        "-p",
        "no:cacheprovider",
        f"--zoo-module={FAKE_ZOO}",
        f"--zoo-report-dir={report_dir}",
        f"--zoo-cache-dir={cache_dir}",
        *args,
        timeout=600,
    )


def read_rows(report_dir: Path) -> pd.DataFrame:
    return pd.read_csv(report_dir / "latest" / "results.csv").set_index("case_id")


def test_failures_become_labelled_rows_and_the_run_goes_on(
    pytester: pytest.Pytester, tmp_path: Path, shared_cache: Path
) -> None:
    result = run_zoo(
        pytester,
        tmp_path,
        shared_cache,
        "--zoo-models=mlp,fake_*",
        "--zoo-exclude=fake_tf_*",
        "--zoo-exporters=torchscript",
        "--zoo-opsets=17",
        "--zoo-paths=ort",
    )
    assert result.ret == 1  # some cases fail; the run itself completed
    rows = read_rows(tmp_path)
    collected = result.parseoutcomes()
    assert len(rows) == collected.get("passed", 0) + collected.get("failed", 0) == 12

    def row(model: str, shape: str) -> pd.Series:
        return rows.loc[f"{model}-torchscript-op17-{shape}-ort_cpu"]

    for shape in ("static", "dynamic"):
        assert row("mlp", shape).status == "pass"
        assert row("mlp", shape).max_abs_err < 1e-5
        assert row("fake_forward_raises", shape).status == "model_error"
        assert "broken on purpose" in row("fake_forward_raises", shape).message
        assert row("fake_nan_output", shape).status == "mismatch"
        assert "reference has" in row("fake_nan_output", shape).message
        assert row("fake_segfault", shape).status == "crash"
        assert "SIGSEGV" in row("fake_segfault", shape).message
    # The export's own size first, in two input draws, then the other sizes.
    assert row("mlp", "dynamic").sizes_checked == "batch=2;batch=2#1;batch=1;batch=7"
    for shape in ("static", "dynamic"):  # held to its own float32 floor, not a fixed atol
        assert row("mlp", shape).tolerance_rule.startswith("calibrated")
        assert 0 <= row("mlp", shape).floor_ratio < 16 and row("mlp", shape).fp32_floor > 0
    assert row("fake_baked_batch", "static").status == "pass"
    baked = row("fake_baked_batch", "dynamic")
    assert baked.status == "mismatch" and baked.stage == "dynamic_sizes"
    assert "dynamic axes not dynamic" in baked.message and "a size is baked into the graph" in baked.message
    branch = row("fake_branch_on_size", "dynamic")
    assert branch.status == "mismatch" and branch.stage == "dynamic_sizes"
    assert (
        branch.message.startswith("values differ away from the export's size") and "shapes are right" in branch.message
    )
    assert (tmp_path / "latest" / "results.html").is_file()
    result.stdout.fnmatch_lines(["*crash at export: torch worker crashed*SIGSEGV*"])


def test_unknown_model_glob_is_a_one_line_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_zoo(pytester, tmp_path, tmp_path / "cache", "--zoo-models=resnt18")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: zoo-suite: no zoo model matches 'resnt18'; close names: resnet18*"])
    assert "Traceback" not in result.stderr.str()


def test_a_negative_input_draw_is_a_one_line_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    result = run_zoo(pytester, tmp_path, tmp_path / "cache", "--zoo-models=mlp", "--zoo-input-draw=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: zoo-suite: --zoo-input-draw must be 0 or more, got -1; try 0 (the default)"])


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--zoo-module={syntax}"], "zoo module '*syntax.py' has a syntax error at line 1: *"),
        (["--zoo-module={raises}"], "zoo module '*raises.py' raised RuntimeError at line 2: boom at import"),
        (["--zoo-module=no_such_zoo_module"], "zoo module 'no_such_zoo_module' cannot be found; give a dotted *"),
        (["--zoo-report-dir=/proc/zoo-nope"], "--zoo-report-dir /proc/zoo-nope: cannot create or write there (*"),
        (["--zoo-threads=0"], "--zoo-threads must be 1 or more threads, got 0; try 2 (the default)"),
        (["--zoo-latency-seconds=-1"], "--zoo-latency-seconds must be more than 0 seconds *, got -1; try 1 *"),
        (["--zoo-timeout=0"], "--zoo-timeout must be more than 0 seconds per worker call, got 0; try 600 *"),
        (
            ["--zoo-exporters=tf2onnx", "--zoo-models=resnet18"],
            "no case to run: tf2onnx exports keras models, and the selected models (resnet18) are torch models; "
            "try --zoo-exporters torchscript,dynamo, *",
        ),
        (["--zoo-models=mlp", "--zoo-exclude=ml*"], "no case to run: --zoo-exclude ml* leaves none of the models mlp*"),
        (
            ["--zoo-fail-on=speed"],
            "--zoo-fail-on takes correctness, drift, latency, removed, 'all' or 'none', got 'speed'",
        ),
        (["--zoo-onnx-dir={tmp}/nowhere"], "--zoo-onnx-dir */nowhere: no such folder; give a folder of ONNX models"),
        (["--zoo-onnx-dir={empty}"], "--zoo-onnx-dir *empty: no .onnx file, model folder or .tar.gz in it; *"),
        (["--zoo-onnx-dir={empty}", "--zoo-onnx-dims=batch"], "--zoo-onnx-dims takes NAME=SIZE pairs *, got 'batch'"),
        (["--zoo-onnx-max-mb=0"], "--zoo-onnx-max-mb must be more than 0 MiB, got 0; try 2048 (the default)"),
    ],
)
def test_a_bad_option_is_a_one_line_usage_error(
    pytester: pytest.Pytester, tmp_path: Path, options: list[str], error: str
) -> None:
    """What a new user gets wrong first: each is said in one line before any case runs."""
    (tmp_path / "syntax.py").write_text("def broken(:\n    pass\n")
    (tmp_path / "raises.py").write_text("x = 1\nraise RuntimeError('boom at import')\n")
    (tmp_path / "empty").mkdir()
    paths = {"syntax": tmp_path / "syntax.py", "raises": tmp_path / "raises.py", "empty": tmp_path / "empty"}
    filled = [o.format(tmp=tmp_path, **paths) for o in options]
    result = run_zoo(pytester, tmp_path / "reports", tmp_path / "cache", *filled)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: zoo-suite: {error}"])
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1 and "Traceback" not in result.stderr.str(), errors
    assert not (tmp_path / "reports" / "runs").exists()  # nothing ran, nothing was written


def test_opsets_an_exporter_rejects_are_unsupported_rows(
    pytester: pytest.Pytester, tmp_path: Path, shared_cache: Path
) -> None:
    result = run_zoo(
        pytester,
        tmp_path,
        shared_cache,
        "--zoo-models=mlp",
        "--zoo-shapes=static",
        "--zoo-opsets=torchscript:99;dynamo:11",
        "--zoo-paths=ort",
    )
    # Unsupported cases are skipped tests, still rows; a run of nothing else judged nothing: exit 4, one line.
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["ERROR: zoo-suite: no case was judged (2 cases: unsupported 2; *"])
    assert result.parseoutcomes()["skipped"] == 2
    rows = read_rows(tmp_path)
    torchscript = rows.loc["mlp-torchscript-op99-static-ort_cpu"]
    dynamo = rows.loc["mlp-dynamo-op11-static-ort_cpu"]
    assert torchscript.status == dynamo.status == "unsupported"
    assert "99" in torchscript.message
    assert "wrote opset 18 when opset 11 was asked" in dynamo.message


def test_the_ort_path_checks_numerics_on_each_selected_provider_and_a_fallback_is_a_row(
    pytester: pytest.Pytester, tmp_path: Path, shared_cache: Path
) -> None:
    import onnxruntime as ort

    if "AzureExecutionProvider" not in ort.get_available_providers():
        pytest.skip("this onnxruntime build has no second provider to ask for")
    # Azure runs remote endpoints, not graph nodes: onnxruntime accepts it and runs every node
    # on the CPU, which must be a fallback row, never a pass.
    run_zoo(
        pytester,
        tmp_path,
        shared_cache,
        "--zoo-models=mlp",
        "--zoo-exporters=torchscript",
        "--zoo-opsets=17",
        "--zoo-shapes=static",
        "--zoo-paths=ort",
        "--zoo-providers=cpu,azure",
    )
    rows = read_rows(tmp_path)
    assert sorted(rows.index) == ["mlp-torchscript-op17-static-ort_azure", "mlp-torchscript-op17-static-ort_cpu"]
    assert rows.loc["mlp-torchscript-op17-static-ort_cpu"].status == "pass"
    azure = rows.loc["mlp-torchscript-op17-static-ort_azure"]
    assert azure.status == "fallback" and azure.stage == "provider"
    assert "no node was placed on it" in azure.message


def test_warm_cache_runs_no_export_and_xdist_gives_the_same_rows(pytester: pytest.Pytester, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    args = ("--zoo-models=mlp,fake_nan_output", "--zoo-opsets=torchscript:13;dynamo:18", "--zoo-paths=ort")
    cold = run_zoo(pytester, tmp_path / "cold", cache, *args)
    warm = run_zoo(pytester, tmp_path / "warm", cache, *args, "-n", "2")
    assert cold.ret == warm.ret == 1
    cold_rows, warm_rows = read_rows(tmp_path / "cold"), read_rows(tmp_path / "warm")
    assert len(cold_rows) == 8
    assert not cold_rows.export_cached.any()
    assert warm_rows.export_cached.all()
    columns = ["status", "stage", "message", "node_count", "sizes_checked"]
    pd.testing.assert_frame_equal(cold_rows[columns].sort_index(), warm_rows[columns].sort_index())
    warm.stdout.fnmatch_lines(["exports run 0, reused from cache 8"])
    # Each row says what its case spent in inherent work: the cold run made exports in the torch worker.
    assert (cold_rows.inherent_seconds <= cold_rows.duration_seconds).all()
    assert cold_rows.inherent_worker_s.sum() > warm_rows.inherent_worker_s.sum() > 0
    assert (cold_rows.inherent_ort_session_s > 0).sum() >= 4  # the cases whose export ran on ONNX Runtime
    meta = json.loads((tmp_path / "warm" / "latest" / "metadata.json").read_text())
    assert meta["parts"][0]["processes"] == 2 and meta["overhead_ratio"] > 1.0
    # A few seconds of inherent work: the ratio is recorded, but printing it would mean nothing.
    assert not [line for line in warm.outlines if "harness overhead" in line]


def test_tf_paths_rows_and_a_killed_tf_worker(pytester: pytest.Pytester, tmp_path: Path, shared_cache: Path) -> None:
    result = run_zoo(
        pytester,
        tmp_path,
        shared_cache,
        f"--zoo-module={ROOT / 'tests' / 'fake_zoo_tf.py'}",
        "--zoo-models=fake_tf_crash,mlp",
        "--zoo-exporters=torchscript",
        "--zoo-opsets=13",
        "--zoo-paths=tf,version",
    )
    rows = read_rows(tmp_path)
    # one shape per model on converter paths (dynamic), two paths, two models
    assert sorted(rows.index) == [
        "fake_tf_crash-torchscript-op13-dynamic-tf_roundtrip",
        "fake_tf_crash-torchscript-op13-dynamic-version",
        "mlp-torchscript-op13-dynamic-tf_roundtrip",
        "mlp-torchscript-op13-dynamic-version",
    ]
    crashed = rows.loc["fake_tf_crash-torchscript-op13-dynamic-tf_roundtrip"]
    assert crashed.status == "crash" and crashed.stage == "onnx_tf"
    assert "tf worker crashed" in crashed.message and "SIGSEGV" in crashed.message
    assert crashed.saved_model_status == "skip"

    mlp = rows.loc["mlp-torchscript-op13-dynamic-tf_roundtrip"]  # ran after the crash, on a fresh worker
    assert mlp.status == "pass", mlp.message
    for hop in ("onnx_tf", "saved_model", "tf2onnx"):
        assert mlp[f"{hop}_status"] == "pass"
    assert mlp.onnx_tf_max_abs_err < 1e-5 and mlp.tf2onnx_max_abs_err < 1e-5
    assert mlp.tf2onnx_sizes_checked == "batch=2;batch=2#1;batch=1;batch=7"

    version = rows.loc["mlp-torchscript-op13-dynamic-version"]
    assert version.status == "pass", version.message
    assert version.version_op17_status == version.version_op21_status == "pass"
    assert "version_op13_status" not in rows.columns or pd.isna(version.get("version_op13_status"))
    assert result.ret == 1


def test_optimize_and_quantize_rows_leave_nothing_in_the_working_directory(
    pytester: pytest.Pytester, tmp_path: Path, shared_cache: Path
) -> None:
    result = run_zoo(
        pytester,
        tmp_path,
        shared_cache,
        "--zoo-models=mlp",
        "--zoo-paths=optimize,quantize",
        "--zoo-exporters=torchscript",
    )
    rows = read_rows(tmp_path)
    assert sorted(rows.variant) == [
        "opt_onnxscript",
        "opt_ort_all",
        "opt_ort_basic",
        "opt_ort_extended",
        "quant_fp16",
        "quant_int8_dynamic",
        "quant_int8_static_minmax",
    ]
    assert set(rows.path) == {"optimize", "quantize"} and set(rows.provider_label) == {"cpu"}
    assert (rows.status == "pass").all(), rows[["status", "message"]]
    int8 = rows.loc["mlp-torchscript-op17-static-quant_int8_static_minmax"]
    assert "+DequantizeLinear" in int8.op_delta and "+QuantizeLinear" in int8.op_delta  # QDQ format
    assert int8.cosine > 0.99
    assert "speedup" not in rows.columns  # the latency path times each variant; the report joins its speed
    assert rows.loc["mlp-torchscript-op17-static-opt_ort_basic"].max_abs_err <= 1e-5
    # ORT's quantization tools write scratch files to the working directory; none may be left.
    assert not [p.name for p in pytester.path.iterdir() if p.suffix in (".onnx", ".data")]
    assert result.ret == 0


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_damaged_cache_entries_are_made_again_and_the_rows_stay_the_same(
    pytester: pytest.Pytester, tmp_path: Path, workers: tuple[str, ...]
) -> None:
    """A truncated export, a bit-flipped reference and a missing converted file are the cache's
    problem: each entry is discarded (with a warning, once, even when two xdist workers find it)
    and made again, never turned into a verdict."""
    cache = tmp_path / "cache"
    args = ("--zoo-models=mlp", "--zoo-opsets=torchscript:13,17", "--zoo-shapes=static", "--zoo-paths=ort,version")
    clean = run_zoo(pytester, tmp_path / "clean", cache, *args)
    assert clean.ret == 0
    exports = sorted((cache / "exports").glob("*.onnx"))
    references = sorted((cache / "references").glob("*.npz"))
    versions = sorted((cache / "versions").glob("*.onnx"))
    assert len(exports) == 2 and references and versions
    exports[0].write_bytes(exports[0].read_bytes()[: exports[0].stat().st_size // 2])  # a full disk
    flipped = bytearray(references[0].read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF  # an outside hand
    references[0].write_bytes(bytes(flipped))
    versions[0].unlink()

    again = run_zoo(pytester, tmp_path / "again", cache, *args, *workers)
    assert again.ret == 0
    columns = ["status", "stage", "message", "max_abs_err", "node_count"]
    clean_rows, again_rows = read_rows(tmp_path / "clean")[columns], read_rows(tmp_path / "again")[columns]
    pd.testing.assert_frame_equal(clean_rows, again_rows.loc[clean_rows.index])
    if not workers:  # per case: 2 ort, 2 version; two workers may each meet an export first
        again.stdout.fnmatch_lines(["exports run 1, reused from cache 3"])
    damaged = [line for line in again.outlines if "CacheEntryDamaged" in line]
    assert len(damaged) == 3, again.outlines
    assert any("exports/" in line and "no longer matches" in line for line in damaged)
    assert any("versions/" in line and "missing" in line for line in damaged)


def test_collect_only_writes_no_run(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Listing the cases runs none: no run folder, no history entry, no "latest" report to diff against."""
    result = run_zoo(pytester, tmp_path / "reports", tmp_path / "cache", "--zoo-models=mlp", "--collect-only", "-q")
    assert result.ret == 0
    assert any("mlp-torchscript-op17-static-ort_cpu" in line for line in result.outlines)
    assert not (tmp_path / "reports" / "runs").exists() and not (tmp_path / "reports" / "history.sqlite").exists()


def test_other_parametrized_tests_that_fail_or_skip_are_not_zoo_rows(pytester: pytest.Pytester, tmp_path: Path) -> None:
    """Unit tests run with the plugin loaded (tests/ under the root conftest): their failures and
    skips are pytest's business, not 'crash' rows of a zoo run in reports/ and the history."""
    pytester.makepyfile(
        test_other="""
        import pytest

        @pytest.mark.parametrize("x", [1, 2])
        def test_fails(x):
            assert x == 1

        @pytest.mark.parametrize("y", ["a"])
        def test_skips(y):
            pytest.skip("not here")
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "suite.plugin", "-p", "no:cacheprovider", f"--zoo-report-dir={tmp_path}", "--zoo-history=none"
    )
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    assert not (tmp_path / "runs").exists()
