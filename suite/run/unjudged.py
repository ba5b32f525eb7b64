"""Verdicts the eager reference cannot carry: a pass on outputs that say nothing, and any verdict
against a model that disagrees with itself. Both end as `skip` "not judged: <why>" rows.

Checked after the path ran (an export or runtime failure is news whatever the reference holds),
before the triage (a not-judged case has nothing to triage).
"""

from __future__ import annotations

from dataclasses import replace

from suite.core.outcome import Outcome
from suite.core.record import Status
from suite.core.rows import NOT_JUDGED_PREFIX
from suite.judge.determinism import self_disagreement, with_random_ops
from suite.judge.floor import ReferenceKind
from suite.judge.inputs import Probe
from suite.judge.vacuity import Draw, not_judged_reason
from suite.run.cache import CachedOutcome
from suite.run.pipeline import CaseRunner, Prepared
from suite.run.references import eager_key
from suite.workers import torch_models  # noqa: TID251 - named for runner.call

# Bump when the determinism check changes what it concludes (its cache entries are then made again).
DETERMINISM_VERSION = 1
# Statuses decided by comparing with the eager reference: they mean nothing if eager is not a fixed function.
_AGAINST_EAGER = (Status.PASS, Status.MISMATCH)


def unjudged(runner: CaseRunner, prepared: Prepared, outcome: Outcome) -> Outcome:
    """`outcome`, or a skip "not judged: ..." where the model disagrees with itself or a pass compared nothing."""
    if outcome.status not in _AGAINST_EAGER:
        return outcome
    reason = nondeterminism(runner, prepared) or (vacuity(prepared) if outcome.status == Status.PASS else "")
    if not reason:
        return outcome
    return replace(outcome, status=Status.SKIP, message=f"{NOT_JUDGED_PREFIX}{reason}")


def vacuity(prepared: Prepared) -> str:
    """Why the references at the export's own size cannot tell a right candidate from a wrong one, or ""
    (suite.judge.vacuity: every output empty, constant, or the same for different input draws)."""
    home = [p for p in prepared.probes if p.dims == prepared.probes[0].dims]
    references = [prepared.reference_at(p) for p in home]
    draws = [Draw(p.inputs(prepared.spec), r.outputs, r.bounds) for p, r in zip(home, references, strict=True)]
    eager = all(r.kind == ReferenceKind.EAGER for r in references)
    return not_judged_reason(prepared.artifact.output_names, draws, eager) or ""


def nondeterminism(runner: CaseRunner, prepared: Prepared) -> str:
    """Why the eager torch model is no fixed reference (two runs on the same inputs disagree beyond the
    case's bounds, naming the random ops its forward called), or "". Once per model and size, cached."""
    spec = prepared.spec
    if spec.framework != "torch" or spec.file_source is not None:
        return ""
    probe: Probe = prepared.probes[0]
    key = eager_key(runner, spec, probe, "determinism", version=DETERMINISM_VERSION)
    cached = runner.cache.load("determinism", key) if runner.use_cache else None
    if cached is None:
        first, second, ops = runner.call("torch", "reference", torch_models.eager_twice, spec.name, probe.inputs(spec))
        reason = with_random_ops(self_disagreement(first, second, prepared.reference_at(probe).bounds), ops)
        cached = runner.cache.store("determinism", key, CachedOutcome("ok", message=reason))
    return cached.message
