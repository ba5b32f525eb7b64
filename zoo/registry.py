"""The model registry: filled by a decorator, selected by globs.

The registry is the test matrix's first axis. Registering twice under one name
is an error (two modules silently shadowing each other would hide a model).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from zoo.spec import HeldOut, InputSpec, ModelBuilder, ModelSpec, QuantPolicy, Task, Tolerance

_REGISTRY: dict[str, ModelSpec] = {}
_WEIGHTS_DIR: list[Path] = []  # set by the process that builds models (suite workers), else empty
_BUILTIN_MODULES = (
    "zoo.models.mlp",
    "zoo.models.vision",
    "zoo.models.sequence",
    "zoo.models.transformers",
    "zoo.models.keras",
    "zoo.models.digits",
)


class UnknownModelError(LookupError):
    """A selection glob matched no registered model."""


class DuplicateModelError(ValueError):
    """Two entries were registered under one name."""


def register_model(
    *,
    inputs: Sequence[InputSpec],
    name: str | None = None,
    dims: Mapping[str, int] | None = None,
    other_dims: Sequence[Mapping[str, int]] = (),
    task: Task = Task.CLASSIFICATION,
    tolerance: Tolerance | None = None,
    tags: Iterable[str] = (),
    output_names: Sequence[str] = (),
    keyword_inputs: bool = False,
    family: str | None = None,
    seed: int = 0,
    framework: str = "torch",
    quant_policy: QuantPolicy | None = None,
    held_out: Callable[[], HeldOut] | None = None,
) -> Callable[[ModelBuilder], ModelBuilder]:
    """Register the decorated zero-argument builder as a zoo model.

    The model name defaults to the function name; the family defaults to the
    defining module's last component. See ModelSpec for the fields.
    """

    def decorate(builder: ModelBuilder) -> ModelBuilder:
        module = getattr(builder, "__module__", "") or ""
        spec = ModelSpec(
            name=name or builder.__name__,
            builder=builder,
            inputs=tuple(inputs),
            dims=dict(dims or {}),
            other_dims=tuple(dict(d) for d in other_dims),
            task=task,
            tolerance=tolerance or Tolerance(),
            tags=frozenset(tags),
            output_names=tuple(output_names),
            keyword_inputs=keyword_inputs,
            family=family or module.rsplit(".", 1)[-1],
            seed=seed,
            framework=framework,
            quant_policy=quant_policy or QuantPolicy(),
            held_out=held_out,
            source=module,
        )
        add(spec)
        return builder

    return decorate


def add(spec: ModelSpec) -> None:
    """Add one spec; a second spec under the same name is an error."""
    existing = _REGISTRY.get(spec.name)
    # The same builder object arriving again is a re-import, not a clash.
    if existing is not None and existing.builder is not spec.builder:
        raise DuplicateModelError(
            f"zoo model {spec.name!r} is registered twice: by {existing.source} and by {spec.source}; "
            "rename one of them"
        )
    _REGISTRY[spec.name] = spec


def set_weights_dir(path: str | Path | None) -> None:
    """Where models trained at first use keep their weights (the harness passes its cache folder);
    None: they train every time."""
    _WEIGHTS_DIR[:] = [Path(path)] if path else []


def weights_dir() -> Path | None:
    return _WEIGHTS_DIR[0] if _WEIGHTS_DIR else None


def load_builtin() -> None:
    """Import the built-in model families (idempotent)."""
    for module in _BUILTIN_MODULES:
        importlib.import_module(module)


def load_modules(modules: Iterable[str]) -> None:
    """Import user modules that register models, by dotted name or file path."""
    for module in modules:
        _import_user_module(module)


def _import_user_module(module: str) -> None:
    if module.endswith(".py"):
        import importlib.util
        import sys
        from pathlib import Path

        path = Path(module).resolve()
        if not path.is_file():
            raise ModuleNotFoundError(f"zoo module file {module!r} does not exist")
        mod_name = f"zoo_user_{path.stem}"
        if mod_name in sys.modules:
            return
        spec = importlib.util.spec_from_file_location(mod_name, path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = mod
        spec.loader.exec_module(mod)
        return
    importlib.import_module(module)


def get(name: str) -> ModelSpec:
    """The spec registered under `name`, or an error naming close matches."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(_unknown_message(name)) from None


def all_models() -> list[ModelSpec]:
    """Every registered spec, sorted by name."""
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]


def select(include: Sequence[str] = ("*",), exclude: Sequence[str] = ()) -> list[ModelSpec]:
    """Specs whose name matches any include glob and no exclude glob.

    Raises:
        UnknownModelError: an include glob matched nothing (its message lists close names).
    """
    names = sorted(_REGISTRY)
    chosen: set[str] = set()
    for pattern in include:
        hits = fnmatch.filter(names, pattern)
        if not hits:
            raise UnknownModelError(_unknown_message(pattern))
        chosen.update(hits)
    for pattern in exclude:
        chosen.difference_update(fnmatch.filter(names, pattern))
    return [_REGISTRY[n] for n in sorted(chosen)]


def _unknown_message(pattern: str) -> str:
    names = sorted(_REGISTRY)
    close = difflib.get_close_matches(pattern, names, n=5, cutoff=0.5)
    hint = f"close names: {', '.join(close)}" if close else f"known models: {', '.join(names)}"
    return f"no zoo model matches {pattern!r}; {hint}"
