"""The case matrix: model x exporter x opset x shape mode x path, with greppable ids."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from suite.exporters import EXPORTER_FRAMEWORKS
from suite.runtime.providers import ProviderRequest
from zoo.spec import ModelSpec

SHAPE_MODES = ("static", "dynamic")
CPU = ProviderRequest("CPUExecutionProvider")


@dataclass(frozen=True)
class Case:
    """One cell of the matrix; becomes exactly one row.

    `path` names the path that runs it (suite/paths), `variant` the transform a variant path
    applies ("" where none does; "fp32" is the untransformed export on the latency path),
    `provider` the execution provider it runs on. `label` is the case id's last part, written by
    the path that drew the case (ort_cpu, tf_roundtrip, quant_fp16, lat.fp32.cpu ...).
    """

    model: str
    exporter: str
    opset: int
    shape: str
    path: str = "ort"
    label: str = "ort_cpu"
    variant: str = ""
    provider: ProviderRequest = CPU

    @property
    def dynamic(self) -> bool:
        return self.shape == "dynamic"

    @property
    def case_id(self) -> str:
        """Lowercase and hyphenated, e.g. resnet18-dynamo-op18-dynamic-ort_cpu."""
        return f"{self.model}-{self.exporter}-op{self.opset}-{self.shape}-{self.label}".lower()


@dataclass(frozen=True)
class Draw:
    """What a path draws its cases from: the run's selection, as the paths need it."""

    specs: Sequence[ModelSpec]
    opsets: Mapping[str, Sequence[int]]
    shapes: Sequence[str]
    providers: Sequence[ProviderRequest] = (CPU,)
    calibrations: Sequence[str] = ("minmax",)
    profile: str = "default"


def with_providers(cases: Iterable[Case], providers: Sequence[ProviderRequest], prefix: str) -> list[Case]:
    """Each case, followed by one copy per provider other than the plain CPU one (labels `<prefix><label>`)."""
    others = [p for p in providers if p != CPU]
    out: list[Case] = []
    for case in cases:
        out.append(case)
        out.extend(replace(case, label=f"{prefix}{p.label}", provider=p) for p in others)
    return out


def build_matrix(draw: Draw, path: str, label: str, one_shape: bool = False) -> list[Case]:
    """Every case for the selection, grouped by model so a worker keeps one model warm.

    Dynamic cases are generated only for models that declare dynamic dims, and each
    model meets only the exporters that accept its framework. With `one_shape`
    (paths that convert an export further) each model gets a single shape mode:
    dynamic where it has dynamic dims and dynamic is selected, else static.
    """
    cases = []
    for spec in draw.specs:
        for exporter in draw.opsets:
            opsets = opsets_of(spec, exporter, draw.opsets)
            if not opsets:
                continue
            model_shapes = [s for s in draw.shapes if s == "static" or spec.has_dynamic_dims]
            if one_shape:
                model_shapes = model_shapes[-1:] if "dynamic" in model_shapes else model_shapes[:1]
            for opset in opsets:
                for shape in model_shapes:
                    cases.append(Case(spec.name, exporter, opset, shape, path, label))
    return cases


def variant_cases(draw: Draw, path: str, variants_for: Callable[[ModelSpec], Sequence[str]]) -> list[Case]:
    """One representative FP32 export per model, times its variants (optimizations, quantizations).

    The representative is the first selected exporter that accepts the model's framework,
    at its newest selected opset, static where static is selected (benchmarks run batch 1).
    """
    cases = []
    for spec in draw.specs:
        exporter = representative_exporter(spec, draw.opsets)
        if exporter is None:
            continue
        shape = "static" if "static" in draw.shapes or not spec.has_dynamic_dims else "dynamic"
        opset = max(opsets_of(spec, exporter, draw.opsets))
        cases.extend(Case(spec.name, exporter, opset, shape, path, variant, variant) for variant in variants_for(spec))
    return cases


def representative_exporter(spec: ModelSpec, opsets_by_exporter: Mapping[str, Sequence[int]]) -> str | None:
    """The first selected exporter (with opsets) that accepts the model's framework."""
    return next((e for e in opsets_by_exporter if opsets_of(spec, e, opsets_by_exporter)), None)


def opsets_of(spec: ModelSpec, exporter: str, opsets_by_exporter: Mapping[str, Sequence[int]]) -> tuple[int, ...]:
    """The opsets `exporter` gives the model in this selection: none where it does not take the model's
    framework; an ONNX file's own opset where the exporter is `onnx` (nothing exports those here)."""
    if exporter not in opsets_by_exporter or EXPORTER_FRAMEWORKS.get(exporter) != spec.framework:
        return ()
    if spec.file_source is not None:
        return (spec.file_source.opset,)
    return tuple(opsets_by_exporter[exporter])
