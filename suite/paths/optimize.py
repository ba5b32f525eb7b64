"""optimize: each model's FP32 export through each optimization transform; it must still match FP32."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from suite.core.figures import Numerics
from suite.core.outcome import Outcome, Trail
from suite.core.record import Status
from suite.judge.compare import compare_outputs
from suite.judge.floor import Bound
from suite.judge.hops import compared_text
from suite.judge.inputs import Probe
from suite.paths.declaration import TABLE, PathSpec
from suite.run.cases import Case
from suite.run.pipeline import CaseRunner, Prepared, StageFailure
from suite.run.transforms import OPTIMIZE
from suite.run.triage import TriageSubject
from suite.run.variants import VariantFacts, build_variant, evaluation_feeds, outputs_on, transform_cases
from suite.runtime.ort_errors import ort_failure
from suite.runtime.sessions import session_from_artifact
from zoo.spec import Tolerance

# An optimized variant is compared with FP32 on the first two evaluation draws (only those are made).
OPTIMIZE_DRAWS = 2


def run_optimization(runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared) -> Outcome:
    """An optimized variant must match the unoptimized model within the FP32 bounds (suite/judge/floor.py)."""
    spec = prepared.spec
    product = build_variant(runner, case.variant, trail, prepared).path
    trail.enter("compare")
    trail.add(TriageSubject("step", product, case.variant, prepared.artifact.path, feeds_probe=Probe(spec.dims, 0)))
    feeds = evaluation_feeds(spec, OPTIMIZE_DRAWS)
    try:
        fp32 = outputs_on(session_from_artifact(prepared.artifact.path), feeds)
        optimized_session = session_from_artifact(product)
        optimized = outputs_on(optimized_session, feeds)
    except Exception as exc:  # noqa: BLE001 - any ORT failure on the variant is this row's verdict
        failure = ort_failure(exc, product)
        raise StageFailure(
            failure.status, failure.message("ONNX Runtime failed on the optimized model", whole=True)
        ) from None
    names = [o.name for o in optimized_session.get_outputs()]
    worst, max_abs_err, compared = None, 0.0, Counter[str]()
    for draw, (reference, candidate) in enumerate(zip(fp32, optimized, strict=True)):
        comparison = compare_outputs(
            reference,
            candidate,
            expected_names=names,
            candidate_names=names,
            tolerance=_bounds(prepared, draw),
            task=spec.task,
        )
        max_abs_err = max(max_abs_err, comparison.worst("max_abs_err"))
        compared.update(comparison.compared)
        if not comparison.ok and worst is None:
            worst = comparison.message
    trail.add(
        Numerics(
            max_abs_err=max_abs_err,
            sizes_checked=f"{len(feeds)} draws",
            compared_elements=sum(compared.values()),
            compared_per_output=compared_text(compared),
        )
    )
    if worst is not None:
        return trail.failed(Status.MISMATCH, f"optimized model differs from FP32 beyond tolerance: {worst}")
    return trail.passed()


def _bounds(prepared: Prepared, draw: int) -> Sequence[Bound] | Tolerance:
    """The bounds of evaluation draw `draw`: calibrated from the model's floor on seeded draws;
    held-out samples have no float64 run, so the model's static tolerance applies there."""
    spec = prepared.spec
    if spec.held_out is not None:
        return spec.tolerance
    return prepared.reference_at(Probe(spec.dims, draw)).bounds


PATH = PathSpec(
    OPTIMIZE,
    "Optimization: each optimized model against FP32",
    transform_cases(OPTIMIZE),
    run_optimization,
    shown_as=TABLE,
    columns=(
        *VariantFacts.column_names("nodes_before", "nodes_after", "fusions", "op_delta"),
        *Numerics.column_names("max_abs_err"),
        *VariantFacts.column_names("transform_seconds"),
    ),
)
