"""Bounds for a model whose weights are float16: the float32 bounds widened by its float16-weight floor.

onnx2tf's float16 TFLite file stores every weight in float16 and computes in float32. Held to the
float32 floor it would fail every deep model; held to a fixed float16 tolerance it would pass one
input draw and fail the next. Its floor is measured instead, per output and probe, on the export
itself (suite.workers.onnx_tools.half_weight_floor: ONNX Runtime with every float32 constant
rounded to float16, against ONNX Runtime without), and the bound is the float32 bound plus
HALF_FACTOR times it (suite.judge.floor).
"""

from __future__ import annotations

import numpy as np

from suite.judge.floor import HALF_FACTOR
from suite.judge.hops import Reference, ReferenceAt
from suite.judge.inputs import Probe
from suite.run.cache import CachedOutcome, content_key
from suite.run.pipeline import CaseRunner, Prepared
from suite.workers import onnx_tools  # noqa: TID251 - named for CaseRunner.call

# Part of the floor's cache key: bump it when half_weight_floor's rounding changes.
HALF_FLOOR_VERSION = 1


def half_weight_references(runner: CaseRunner, prepared: Prepared) -> ReferenceAt:
    """prepared.reference_at with each output's bound widened by HALF_FACTOR x its float16-weight
    floor (measured for every probe of the case in one worker call, on the first probe asked)."""
    kept: dict[str, Reference] = {}
    floors: dict[str, list[float]] = {}

    def reference_at(probe: Probe) -> Reference:
        if probe.label not in kept:
            if not floors:
                floors.update(_floors(runner, prepared))
            base = prepared.reference_at(probe)
            widened = floors.get(probe.label, [])
            bounds = tuple(
                b.with_half_floor(widened[index] if index < len(widened) else 0.0)
                for index, b in enumerate(base.bounds)
            )
            rule = f"{base.rule}; float16 weights: + {HALF_FACTOR:g}x the float16-weight floor"
            kept[probe.label] = Reference(base.outputs, bounds, rule, base.against, base.kind)
        return kept[probe.label]

    return reference_at


def _floors(runner: CaseRunner, prepared: Prepared) -> dict[str, list[float]]:
    """The export's float16-weight floor per output on each of the case's probes (by label), through
    the cache; the probes not cached are measured in one worker call."""
    keys = {
        probe.label: content_key(
            kind="half_floor",
            export=prepared.export_key,
            dims=probe.label,
            rules=HALF_FLOOR_VERSION,
            **runner.versions("onnx"),
        )
        for probe in prepared.probes
    }
    found: dict[str, list[float]] = {}
    for label, key in keys.items():
        cached = runner.cache.load_arrays("half_floors", key) if runner.use_cache else None
        if cached is not None and cached[1]:
            found[label] = [float(f) for f in cached[1][0]]
    missing = [probe for probe in prepared.probes if probe.label not in found]
    if missing:
        feeds = [probe.inputs(prepared.spec) for probe in missing]
        measured = runner.call("onnx", "half_floor", onnx_tools.half_weight_floor, str(prepared.artifact.path), feeds)
        for probe, per_output in zip(missing, measured, strict=True):
            runner.cache.store_arrays(
                "half_floors", keys[probe.label], CachedOutcome("ok"), [np.array(per_output, np.float64)]
            )
            found[probe.label] = list(per_output)
    return found
