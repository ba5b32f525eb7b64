"""Every --zoo-* option read and checked in one place, into one frozen ZooSettings the rest receives.

Nothing else in the plugin calls config.getoption for a zoo option: a bad value is a one-line usage
error here, before any case runs, and what a run works with can be read off one object.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from suite.core.budget import GIB, default_budget
from suite.core.run_folder import HISTORY_ENV, history_url
from suite.exporters import EXPORTER_FRAMEWORKS
from suite.history.diff import parse_fail_on
from suite.latency_ab.interleaved import AbPlan
from suite.latency_ab.kept_artifacts import ArtifactStore
from suite.onnx_files.safe_read import MIB, Limits
from suite.onnx_files.sources import parse_dims, specs_from_dirs
from suite.onnx_files.tolerances import parse_tolerance
from suite.paths import path_named
from suite.paths.latency import LatencySettings
from suite.paths.latency_ab import AbSettings
from suite.run.cases import CPU, Draw
from suite.runtime.environment import benchmark_version_problem
from suite.runtime.providers import ProviderRequest, parse_providers, runtime_inventory
from suite.runtime.sessions import Threads
from suite.runtime.timing import TimingPlan
from suite.selection.profiles import Selection, SelectionError, make_selection, profiles
from suite.selection.shard import Shard, models_of_shard, parse_shard
from zoo.checkpoints import set_checkpoints_dir
from zoo.registry import ModelRegistry
from zoo.spec import ModelSpec, Tolerance


@dataclasses.dataclass(frozen=True)
class RegressionSettings:
    """Where the run is stored, what it is diffed against, and which shard of a run it is."""

    history_url: str | None = None
    history_named: bool = False  # a database given (option or environment), not the default file
    baseline: str | None = None
    fail_on: tuple[str, ...] = ("correctness",)
    run_id: str | None = None
    shard: Shard | None = None
    shard_models: frozenset[str] | None = None  # None: every selected model


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How this invocation joins its run: named paths, continuing or resuming an earlier part."""

    paths_named: str | None = None  # --zoo-paths as given (a part's label names them)
    continue_run: bool = False
    resume: str | None = None  # the run id of --zoo-resume


@dataclasses.dataclass(frozen=True)
class CaseOptions:
    """How each case runs: worker call timeout, cache use, the input draw, caps on files from outside."""

    timeout: float
    use_cache: bool
    input_draw: int
    limits: Limits
    triage_limit: int | None = 0  # red cases each process triages (suite.run.triage); None: every one
    memory_budget: int | None = None  # each worker process's memory in bytes (suite.core.budget); None: no cap


@dataclasses.dataclass(frozen=True)
class ZooSettings:
    """What a run works with, read from the options once (in every xdist worker the same)."""

    selection: Selection
    user_modules: tuple[str, ...]
    models: ModelRegistry  # the run's zoo: the built-in families, --zoo-module's and the ONNX folders' entries
    providers: tuple[ProviderRequest, ...]
    notices: tuple[str, ...]  # said in the header and the summary (e.g. a path left out)
    regression: RegressionSettings
    latency: LatencySettings
    run: RunOptions
    cases: CaseOptions
    reports_dir: Path
    cache_dir: Path
    checkpoints_dir: Path | None = None  # save_pretrained folders of corpus entries (zoo.checkpoints)

    def specs(self) -> list[ModelSpec]:
        """The selected models (every shard's)."""
        return self.models.select(self.selection.models, self.selection.exclude)


# Numeric options checked before any case runs: (option, flag, valid, what is expected, what to try).
_NUMBER_RULES: tuple[tuple[str, str, Callable[[float], bool], str, str], ...] = (
    ("zoo_threads", "--zoo-threads", lambda v: v >= 1, "1 or more threads", "2 (the default)"),
    (
        "zoo_latency_seconds",
        "--zoo-latency-seconds",
        lambda v: v > 0,
        "more than 0 seconds of measured time per latency case",
        "1 (the default)",
    ),
    ("zoo_timeout", "--zoo-timeout", lambda v: v > 0, "more than 0 seconds per worker call", "600 (the default)"),
    ("zoo_input_draw", "--zoo-input-draw", lambda v: v >= 0, "0 or more", "0 (the default)"),
    ("zoo_triage", "--zoo-triage", lambda v: v is None or v >= -1, "-1 (every red case), 0 (off) or a count", "40"),
    ("zoo_worker_memory_gb", "--zoo-worker-memory-gb", lambda v: v is None or v >= 0, "0 (no budget) or more", "8"),
    ("zoo_onnx_max_mb", "--zoo-onnx-max-mb", lambda v: v > 0, "more than 0 MiB", "2048 (the default)"),
    ("zoo_ab_min_effect", "--zoo-ab-min-effect", lambda v: 0 < v < 1, "a fraction between 0 and 1", "0.05 (5%)"),
    ("zoo_ab_seconds", "--zoo-ab-seconds", lambda v: v > 0, "more than 0 seconds per A/B case", "2 (the default)"),
)


def read_settings(config: pytest.Config) -> ZooSettings:
    """The run's settings from its options, every value checked.

    Raises:
        SelectionError (and the registry's and providers' ValueErrors): an option no run can use;
            the plugin turns it into a one-line usage error.
    """
    option = config.getoption
    given_modules = tuple(str(Path(m).resolve()) if m.endswith(".py") else m for m in option("zoo_module"))
    _check_numbers(config)
    selection = make_selection(
        option("zoo_profile"),
        models=option("zoo_models"),
        exclude=option("zoo_exclude"),
        exporters=option("zoo_exporters"),
        opsets=option("zoo_opsets"),
        shapes=option("zoo_shapes"),
        paths=option("zoo_paths"),
        onnx_dirs=option("zoo_onnx_dir"),
    )
    reports_dir = _folder(option("zoo_report_dir"), Path(config.rootpath) / "reports")
    cache_dir = _folder(option("zoo_cache_dir"), reports_dir / "cache")
    limits = onnx_limits(option("zoo_onnx_max_mb"))
    # The profile's own modules (the corpus's generated families) and --zoo-module's: the workers load the same.
    user_modules = tuple(dict.fromkeys((*selection.modules, *given_modules)))
    checkpoints_dir = _checkpoints(option("zoo_checkpoints"))
    models = ModelRegistry().load_builtin().load_modules(user_modules)
    _check_writable(cache_dir, "--zoo-cache-dir")
    tolerance = option("zoo_onnx_tolerance")
    file_tolerance = parse_tolerance(tolerance, "--zoo-onnx-tolerance") if tolerance else None
    _add_onnx_files(selection, models, option("zoo_onnx_dims"), limits, cache_dir, file_tolerance)
    _check_selection_has_cases(selection, models)
    selection, notices = _serial_paths_only_when_serial(config, selection)
    notices += _modules_left_out(given_modules, selection, models)
    providers = _providers(option("zoo_providers"), selection)
    regression = _regression_settings(config, selection, providers, models, reports_dir)
    shard = regression.shard
    if shard is not None and not regression.shard_models:  # more shards than models: a no-op, not an error
        count = len(models.select(selection.models, selection.exclude))
        notices += (f"shard {shard.label} has no models ({count} models split by model): nothing to run",)
    _check_writable(reports_dir, "--zoo-report-dir")
    latency = LatencySettings(
        threads=Threads(intra_op=option("zoo_threads"), inter_op=1),
        plan=TimingPlan(target_s=option("zoo_latency_seconds")),
        ab=AbSettings(
            ArtifactStore(reports_dir / "artifacts"),
            plan=AbPlan(target_s=option("zoo_ab_seconds"), min_effect=option("zoo_ab_min_effect")),
            identical_too=option("zoo_ab_identical"),
        ),
    )
    return ZooSettings(
        selection=selection,
        user_modules=user_modules,
        models=models,
        providers=providers,
        notices=notices,
        regression=regression,
        latency=latency,
        run=RunOptions(option("zoo_paths"), option("zoo_continue"), option("zoo_resume")),
        cases=CaseOptions(
            option("zoo_timeout"),
            not option("zoo_no_cache"),
            option("zoo_input_draw"),
            limits,
            _triage_limit(option("zoo_triage"), selection.profile),
            memory_budget(option("zoo_worker_memory_gb"), profiles()[selection.profile].worker_memory_gb),
        ),
        reports_dir=reports_dir,
        cache_dir=cache_dir,
        checkpoints_dir=checkpoints_dir,
    )


def _triage_limit(given: int | None, profile: str) -> int | None:
    """Red cases each process triages: --zoo-triage (or $ZOO_TRIAGE), else the profile's; None: every one."""
    limit = profiles()[profile].triage if given is None else given
    return None if limit == -1 else limit


def _checkpoints(folder: str | None) -> Path | None:
    """The --zoo-checkpoints folder, checked and set for this process's zoo (the workers set theirs)."""
    path = None if not folder else Path(folder).expanduser().resolve()
    if path is not None and not path.is_dir():
        raise SelectionError(
            f"--zoo-checkpoints {folder}: no such folder; give one that holds save_pretrained folders named "
            "after corpus entries (e.g. DIR/hf_bert/config.json)"
        )
    set_checkpoints_dir(path)
    return path


def memory_budget(gigabytes: float | None, profile_gigabytes: float | None = None) -> int | None:
    """Each worker's memory budget in bytes: as given (the option or its environment variable; 0: none),
    else the profile's, else the machine's split between this run's parallel pytest processes (xdist
    tells its workers how many there are)."""
    chosen = gigabytes if gigabytes is not None else profile_gigabytes
    if chosen is not None:
        return int(chosen * GIB) or None
    return default_budget(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


def onnx_limits(max_mb: float) -> Limits:
    """The caps on what one ONNX file from outside may make the run read or allocate."""
    cap = int(max_mb * MIB)
    # The onnx worker holds a model and a few of its tensors at once, besides its own libraries.
    worker = 4 * cap + 2048 * MIB
    return Limits(max_file_bytes=cap, max_tensor_bytes=cap, max_archive_bytes=2 * cap, max_worker_bytes=worker)


def draw_of(selection: Selection, providers: tuple[ProviderRequest, ...], specs: list[Any]) -> Draw:
    """What the paths draw their cases from; the ort path runs on the CPU where no provider is selected."""
    return Draw(
        specs, selection.opsets, selection.shapes, providers or (CPU,), selection.calibrations, selection.profile
    )


def runs_in_parallel(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput") or config.getoption("dist", "no") not in ("no", None)


def _folder(value: str | None, default: Path) -> Path:
    # Absolute: worker processes run tools from scratch directories.
    return Path(value).resolve() if value else default


def _add_onnx_files(
    selection: Selection,
    models: ModelRegistry,
    dims_option: str | None,
    limits: Limits,
    cache_dir: Path,
    tolerance: Tolerance | None,
) -> None:
    """Every entry of the --zoo-onnx-dir folders joins the run's zoo (archives unpacked into the cache)."""
    if not selection.onnx_dirs:
        return
    taken = [spec.name for spec in models.all_models()]
    unpack_to = cache_dir / "unpacked"
    dims = parse_dims(dims_option)
    for spec in specs_from_dirs(selection.onnx_dirs, dims, limits, unpack_to, taken, tolerance):
        models.add(spec)


def _modules_left_out(given: tuple[str, ...], selection: Selection, models: ModelRegistry) -> tuple[str, ...]:
    """A --zoo-module whose models the selection leaves out runs none of them: say so, in one line."""
    selected = {spec.name for spec in models.select(selection.models, selection.exclude)}
    notices = []
    for module in given:
        names = models.models_of(module)
        if names and not selected.intersection(names):
            notices.append(
                f"--zoo-module {module}: none of its models ({', '.join(names)}) is selected by models "
                f"{','.join(selection.models)} (profile {selection.profile}); add --zoo-models {','.join(names)}"
            )
    return tuple(notices)


def _check_numbers(config: pytest.Config) -> None:
    """A number no case can run with is a usage error now, not a row per case (or silence)."""
    for option, flag, valid, expected, hint in _NUMBER_RULES:
        value = config.getoption(option)
        if not valid(value):
            raise SelectionError(f"{flag} must be {expected}, got {value:g}; try {hint}")


def _check_selection_has_cases(selection: Selection, models: ModelRegistry) -> None:
    """A selection of no model, or of exporters that take none of the selected models' frameworks,
    has no case: say why instead of "no tests collected"."""
    specs = models.select(selection.models, selection.exclude)
    if not specs:
        raise SelectionError(
            f"no case to run: --zoo-exclude {','.join(selection.exclude)} leaves none of the models "
            f"{','.join(selection.models)}; exclude fewer"
        )
    exporters = [name for name, opsets in selection.opsets.items() if opsets or name == "onnx"]
    served = {EXPORTER_FRAMEWORKS[name] for name in exporters}
    frameworks = {spec.framework for spec in specs}
    if not exporters or served & frameworks:
        return
    names = ", ".join(spec.name for spec in specs[:5]) + (", ..." if len(specs) > 5 else "")
    takers = [name for name, framework in EXPORTER_FRAMEWORKS.items() if framework in frameworks]
    raise SelectionError(
        f"no case to run: {', '.join(exporters)} exports {', '.join(sorted(served))} models, and the selected "
        f"models ({names}) are {', '.join(sorted(frameworks))} models; try --zoo-exporters {','.join(takers)}, "
        "or select models that exporter takes"
    )


def _check_writable(folder: Path, flag: str) -> None:
    """The run folder and the cache must be writable before the first case, not after it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".zoo-write-check-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise SelectionError(
            f"{flag} {folder}: cannot create or write there ({exc.strerror or exc}); give a folder you can write to"
        ) from None


def _regression_settings(
    config: pytest.Config,
    selection: Selection,
    providers: tuple[ProviderRequest, ...],
    models: ModelRegistry,
    reports_dir: Path,
) -> RegressionSettings:
    shard_option = config.getoption("zoo_shard")
    shard = parse_shard(shard_option) if shard_option else None
    shard_models = None
    if shard is not None:
        specs = models.select(selection.models, selection.exclude)
        weights = {spec.name: 0 for spec in specs}
        draw = draw_of(selection, providers, specs)
        for name in selection.paths:
            for case in path_named(name).cases(draw):
                weights[case.model] += 1
        shard_models = frozenset(models_of_shard(weights, shard))
    option = config.getoption
    return RegressionSettings(
        history_url=history_url(option("zoo_history"), reports_dir),
        history_named=bool(option("zoo_history") or os.environ.get(HISTORY_ENV)),
        baseline=option("zoo_baseline"),
        fail_on=_fail_on(option("zoo_fail_on")),
        run_id=option("zoo_run_id") or option("zoo_resume") or os.environ.get("ZOO_RUN_ID") or None,
        shard=shard,
        shard_models=shard_models,
    )


def _fail_on(value: str) -> tuple[str, ...]:
    try:
        return parse_fail_on(value)
    except ValueError as exc:  # the parser is shared with `suite.cli.history diff --fail-on`
        raise SelectionError(str(exc).replace("--fail-on", "--zoo-fail-on", 1)) from None


def _serial_paths_only_when_serial(config: pytest.Config, selection: Selection) -> tuple[Selection, tuple[str, ...]]:
    """Latency needs a quiet machine: under pytest-xdist it is refused when asked for by name,
    and left out, with a notice, when it only came with the profile."""
    if "latency" not in selection.paths or not runs_in_parallel(config):
        return selection, ()
    if config.getoption("zoo_paths") and "latency" in config.getoption("zoo_paths"):
        raise SelectionError(
            "the latency path is measured serially and cannot run under pytest-xdist (-n); "
            "run it in its own invocation without -n, e.g. --zoo-paths latency"
        )
    paths = tuple(p for p in selection.paths if p != "latency")
    notice = "latency path left out: pytest-xdist (-n) runs cases in parallel; run --zoo-paths latency without -n"
    return dataclasses.replace(selection, paths=paths), (notice,)


def _providers(value: str, selection: Selection) -> tuple[ProviderRequest, ...]:
    """The providers of the latency and ort paths, checked against this environment's onnxruntime."""
    if "latency" not in selection.paths and "ort" not in selection.paths:
        return ()
    import onnxruntime as ort

    if "latency" in selection.paths:
        check_pytest_benchmark()
    inventory = runtime_inventory()
    return parse_providers(value, ort.get_available_providers(), inventory["ort_package"])


def check_pytest_benchmark() -> None:
    """The latency path needs a pytest-benchmark whose API it was written against."""
    problem = benchmark_version_problem()
    if problem:
        raise SelectionError(problem)
