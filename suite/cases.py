"""The case matrix: model x exporter x opset x shape mode x path, with greppable ids."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from suite.exporters import EXPORTER_FRAMEWORKS
from suite.providers import ProviderRequest
from zoo.spec import ModelSpec

SHAPE_MODES = ("static", "dynamic")


@dataclass(frozen=True)
class Case:
    """One cell of the matrix; becomes exactly one row."""

    model: str
    exporter: str
    opset: int
    shape: str
    path: str = "ort_cpu"

    @property
    def dynamic(self) -> bool:
        return self.shape == "dynamic"

    @property
    def case_id(self) -> str:
        """Lowercase and hyphenated, e.g. resnet18-dynamo-op18-dynamic-ort_cpu."""
        return f"{self.model}-{self.exporter}-op{self.opset}-{self.shape}-{self.path}".lower()


CPU = ProviderRequest("CPUExecutionProvider")


@dataclass(frozen=True)
class ProviderCase(Case):
    """An ort-path case on an execution provider other than the plain CPU one."""

    provider: ProviderRequest = CPU


def with_providers(cases: Iterable[Case], providers: Sequence[ProviderRequest]) -> list[Case]:
    """Each case, followed by one copy per provider other than the plain CPU one (ids end ort_<label>)."""
    others = [p for p in providers if p != CPU]
    out: list[Case] = []
    for case in cases:
        out.append(case)
        out.extend(ProviderCase(case.model, case.exporter, case.opset, case.shape, f"ort_{p.label}", p) for p in others)
    return out


def build_matrix(
    specs: Iterable[ModelSpec],
    opsets_by_exporter: Mapping[str, Sequence[int]],
    shapes: Sequence[str],
    path: str = "ort_cpu",
    one_shape: bool = False,
) -> list[Case]:
    """Every case for the selection, grouped by model so a worker keeps one model warm.

    Dynamic cases are generated only for models that declare dynamic dims, and each
    model meets only the exporters that accept its framework. With `one_shape`
    (paths that convert an export further) each model gets a single shape mode:
    dynamic where it has dynamic dims and dynamic is selected, else static.
    """
    cases = []
    for spec in specs:
        for exporter, opsets in opsets_by_exporter.items():
            if EXPORTER_FRAMEWORKS.get(exporter) != spec.framework:
                continue
            model_shapes = [s for s in shapes if s == "static" or spec.has_dynamic_dims]
            if one_shape:
                model_shapes = model_shapes[-1:] if "dynamic" in model_shapes else model_shapes[:1]
            for opset in opsets:
                for shape in model_shapes:
                    cases.append(Case(spec.name, exporter, opset, shape, path))
    return cases


def variant_cases(
    specs: Iterable[ModelSpec],
    opsets_by_exporter: Mapping[str, Sequence[int]],
    shapes: Sequence[str],
    variants_for: Callable[[ModelSpec], Sequence[str]],
) -> list[Case]:
    """One representative FP32 export per model, times its variants (optimizations, quantizations).

    The representative is the first selected exporter that accepts the model's framework,
    at its newest selected opset, static where static is selected (benchmarks run batch 1).
    """
    cases = []
    for spec in specs:
        exporter = representative_exporter(spec, opsets_by_exporter)
        if exporter is None:
            continue
        shape = "static" if "static" in shapes or not spec.has_dynamic_dims else "dynamic"
        opset = max(opsets_by_exporter[exporter])
        cases.extend(Case(spec.name, exporter, opset, shape, variant) for variant in variants_for(spec))
    return cases


def representative_exporter(spec: ModelSpec, opsets_by_exporter: Mapping[str, Sequence[int]]) -> str | None:
    """The first selected exporter (with opsets) that accepts the model's framework."""
    return next(
        (e for e, ops in opsets_by_exporter.items() if ops and EXPORTER_FRAMEWORKS.get(e) == spec.framework), None
    )
