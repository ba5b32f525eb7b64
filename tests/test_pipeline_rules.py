import pytest

from suite.core.record import Record, Status
from suite.run import pipeline, records
from suite.workers.isolate import RemoteError, WorkerCrashed, WorkerTimeout
from zoo import expectations
from zoo.expectations import Expectation
from zoo.registry import ModelRegistry


@pytest.mark.parametrize(
    ("error", "stage", "status"),
    [
        (WorkerTimeout("slow"), "export", Status.TIMEOUT),
        (WorkerCrashed("boom"), "export", Status.CRASH),
        (RemoteError("suite.workers.torch_models.ModelError", "forward raised", "tb"), "reference", Status.MODEL_ERROR),
        (RemoteError("suite.exporters.base.ExportUnsupported", "wrote opset 18", "tb"), "export", Status.UNSUPPORTED),
        (
            RemoteError("builtins.RuntimeError", "Unsupported onnx_opset_version: 25", "tb"),
            "export",
            Status.UNSUPPORTED,
        ),
        (RemoteError("torch.onnx.errors.UnsupportedOperatorError", "aten::x", "tb"), "export", Status.UNSUPPORTED),
        (RemoteError("builtins.TypeError", "forward() got multiple values", "tb"), "export", Status.EXPORT_ERROR),
        (RemoteError("builtins.TypeError", "bad", "tb"), "reference", Status.RUNTIME_ERROR),
        (
            RemoteError("builtins.RuntimeError", "adapt: No Previous Version of LayerNormalization exists", "tb"),
            "convert",
            Status.UNSUPPORTED,
        ),
        (RemoteError("builtins.ValueError", "quantizer broke", "tb"), "transform", Status.TRANSFORM_ERROR),
        (
            RemoteError(
                "torch.onnx.errors.SymbolicValueError",
                "Unsupported: ONNX export of operator adaptive_avg_pool2d, output size that are not factor of input",
                "tb",
            ),
            "export",
            Status.UNSUPPORTED,
        ),
        (
            RemoteError(
                "onnx.onnx_cpp2py_export.checker.ValidationError",
                "Unrecognized attribute: noop_with_empty_axes for operator ReduceMean",
                "tb",
            ),
            "convert",
            Status.TRANSFORM_ERROR,
        ),
    ],
)
def test_worker_errors_are_classified(error, stage: str, status: Status) -> None:
    failure = pipeline.classify_worker_error(error, stage)
    assert failure.status == status
    assert "\n" not in failure.message


def test_expectations_turn_failures_into_xfail_and_flag_stale_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        expectations,
        "EXPECTATIONS",
        [Expectation("gpt2-torchscript-*", "export_error", "keyword inputs", "https://example.org/1")],
    )
    failed = Record("gpt2-torchscript-op17-static-ort_cpu", "gpt2", "torchscript", 17, "static", "ort",
                    status=Status.EXPORT_ERROR, message="TypeError: boom")  # fmt: skip
    result = records.apply_expectation(failed)
    assert result.status == Status.XFAIL and result.message == "TypeError: boom"
    assert "keyword inputs" in result.expectation

    passed = Record("gpt2-torchscript-op13-static-ort_cpu", "gpt2", "torchscript", 13, "static", "ort")
    assert records.apply_expectation(passed).status == Status.XPASS

    other = Record("gpt2-torchscript-op13-static-ort_cpu", "gpt2", "torchscript", 13, "static", "ort",
                   status=Status.MISMATCH, message="numbers")  # fmt: skip
    assert records.apply_expectation(other).status == Status.MISMATCH  # a different failure stays visible


def test_an_exception_without_message_is_named_by_where_it_was_raised() -> None:
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "/x/symbolic_shape_infer.py", line 1690, in _infer_Reshape\n'
        "    assert is_literal(shape_rank)\n"
        "AssertionError\n"
    )
    failure = pipeline.classify_worker_error(RemoteError("builtins.AssertionError", "", traceback), "transform")
    assert failure.status == Status.TRANSFORM_ERROR
    assert failure.message == (
        "AssertionError: raised at symbolic_shape_infer.py:1690 in _infer_Reshape: assert is_literal(shape_rank)"
    )


def test_cached_failures_are_classified_under_the_current_rules(tmp_path) -> None:
    from suite.run.cache import Cache, CachedOutcome
    from suite.run.pipeline import CaseRunner

    cache = Cache(tmp_path)
    cause = {
        "stage": "convert",
        "type_name": "builtins.RuntimeError",
        "message": "adapt: Assertion `false` failed: No Previous Version of LayerNormalization exists",
        "traceback": "tb",
    }
    # Written by an older run whose rules called this an export_error.
    cache.store("versions", "k", CachedOutcome("export_error", "old message", cause=cause))
    runner = CaseRunner({}, cache, ModelRegistry())

    def must_not_run(_scratch):
        raise AssertionError("a cached step must not run again")

    outcome, product = runner.cached_step("versions", "k", ".onnx", must_not_run)
    assert product is None
    assert outcome.status == "unsupported"
    assert "No Previous Version of LayerNormalization" in outcome.message


def test_an_expectation_glob_may_list_alternatives() -> None:
    expectation = Expectation("a-*-x|b-*-y", "crash", "why")
    assert expectation.matches("a-1-x") and expectation.matches("b-2-y")
    assert not expectation.matches("a-1-y")


def test_a_cached_failure_now_known_as_a_harness_bug_runs_again() -> None:
    from suite.run.cache import CachedOutcome
    from suite.run.pipeline import reusable
    from suite.workers.isolate import UNRESOLVABLE

    cause = {"stage": "export", "type_name": UNRESOLVABLE, "message": "cannot resolve 'x:y'", "traceback": ""}
    assert reusable(CachedOutcome("export_error", "old verdict", cause=cause)) is None
    kept = CachedOutcome("export_error", "RuntimeError: refused", cause={**cause, "type_name": "RuntimeError"})
    assert reusable(kept) is not None and reusable(kept).status == "export_error"
    assert reusable(None) is None


def test_an_exports_check_runs_once_and_its_verdict_is_kept(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """onnx.checker and shape inference run once per export: a cached export is the same file."""
    from suite.onnx_files.checks import Artifact, inspect_artifact
    from suite.run.cache import Cache
    from suite.run.exports import checked
    from suite.run.pipeline import CaseRunner, StageFailure
    from tests.onnx_models import matmul_chain

    runner = CaseRunner({}, Cache(tmp_path / "cache"), ModelRegistry())
    good, bad = tmp_path / "good.onnx", tmp_path / "bad.onnx"
    matmul_chain(good)
    bad.write_bytes(b"not a model")
    info = checked(runner, "k1", Artifact(good, ("y",)))
    assert info == inspect_artifact(good)
    with pytest.raises(StageFailure) as first:
        checked(runner, "k2", Artifact(bad, ("y",)))
    assert first.value.status == Status.EXPORT_ERROR and "onnx.checker" in first.value.message

    def must_not_run(path):
        raise AssertionError("a checked export must not be checked again")

    monkeypatch.setattr("suite.run.exports.inspect_artifact", must_not_run)
    assert checked(runner, "k1", Artifact(good, ("y",))) == info
    with pytest.raises(StageFailure) as again:
        checked(runner, "k2", Artifact(bad, ("y",)))
    assert again.value.message == first.value.message


def test_a_failed_steps_half_written_product_is_not_left_in_the_cache(tmp_path) -> None:
    from suite.run.cache import Cache
    from suite.run.pipeline import CaseRunner, StageFailure

    runner = CaseRunner({}, Cache(tmp_path), ModelRegistry())

    def half_written(scratch):
        (scratch / "variables").mkdir(parents=True)  # as onnx2tf leaves a SavedModel it did not finish
        raise StageFailure(Status.EXPORT_ERROR, "onnx2tf: Onnx2tfError: ValueError: no")

    def crashed(scratch):
        scratch.write_bytes(b"half")
        raise StageFailure(Status.CRASH, "the worker died")

    for key, step in (("kept", half_written), ("not-kept", crashed)):
        outcome, product = runner.cached_step("onnx2tf", key, "", step)
        assert product is None and outcome.status != "ok"
    assert sorted(p.name for p in (tmp_path / "onnx2tf").iterdir()) == ["kept.json"]
    outcome, product = runner.cached_step("onnx2tf", "fine", "", lambda scratch: scratch.mkdir() or {"n": 1})
    assert outcome.status == "ok" and product.is_dir() and not list((tmp_path / "onnx2tf").glob("*.tmp-*"))
