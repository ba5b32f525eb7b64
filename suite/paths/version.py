"""version: onnx.version_converter to other opsets, each conversion run on ONNX Runtime against eager.

The converter runs in the onnx worker: it is C++, and a crash there must cost one case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from suite.core.outcome import Outcome, Trail
from suite.judge.hops import ort_hop
from suite.judge.triage.findings import Blame
from suite.paths.declaration import PathSpec
from suite.paths.steps import first_failure, hop_from_outcome
from suite.run.cache import content_key
from suite.run.cases import Case, Draw, build_matrix
from suite.run.pipeline import CaseRunner, Prepared
from suite.run.triage import TriageSubject
from suite.workers.onnx_tools import convert_version  # noqa: TID251 - named for runner.call

# Opsets the version path converts every export to (the export's own opset is skipped).
VERSION_TARGETS = (13, 17, 21)


def draw_cases(draw: Draw) -> list[Case]:
    """One shape mode per model (dynamic where it has dynamic dims): the converter works on the export."""
    return build_matrix(draw, "version", "version", one_shape=True)


def run_version(runner: CaseRunner, case: Case, trail: Trail, prepared: Prepared) -> Outcome:
    """onnx.version_converter to each target opset, then ONNX Runtime against eager."""
    hops = []
    subjects: list[TriageSubject] = []  # the first failing conversion, for a triage
    source = str(prepared.artifact.path)
    for target in VERSION_TARGETS:
        if target == prepared.info.opset:
            continue
        name = f"version_op{target}"
        trail.enter(name)
        key = content_key(kind="version", export=prepared.export_key, target=target, **runner.versions("onnx"))
        outcome, converted = runner.cached_step(
            "versions",
            key,
            ".onnx",
            _converter(runner, source, target),
        )
        if converted is None:
            hop = hop_from_outcome(outcome)
        else:
            hop = ort_hop(
                converted, prepared.spec, prepared.probes, prepared.reference_at, prepared.artifact.output_names
            )
            hop = replace(hop, seconds=outcome.seconds)
        hops.append((name, hop))
        if not hop.ok and converted is not None and not any(isinstance(f, TriageSubject) for f in subjects):
            subjects.append(
                TriageSubject(
                    "step", converted, "version", prepared.artifact.path, Blame.CONVERTER, feeds_probe=hop.failed_at
                )
            )
    trail.add(*subjects)
    return first_failure(trail, hops)


def _converter(runner: CaseRunner, source: str, target: int) -> Callable[[Path], Any]:
    def convert(scratch: Path) -> dict[str, Any]:
        return runner.call("onnx", "convert", convert_version, source, str(scratch), target)

    return convert


PATH = PathSpec(
    "version", "onnx.version_converter to other opsets, then ONNX Runtime vs eager", draw_cases, run_version
)
