"""The model registry: declared by a decorator, loaded per module, selected by globs.

A registry is the test matrix's first axis. It is an object (ModelRegistry) that the pytest
plugin owns for the run and each worker process builds for itself; the decorator only declares
a module's models. Registering twice under one name is an error (two modules silently
shadowing each other would hide a model).
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from zoo.spec import HeldOut, InputSpec, ModelBuilder, ModelSpec, QuantPolicy, Task, Tolerance

# Every spec the decorator has declared in this process, in declaration order; a ModelRegistry
# takes those of the modules it loads.
_DECLARED: list[ModelSpec] = []
_WEIGHTS_DIR: list[Path] = []  # set by the process that builds models (suite workers), else empty
BUILTIN_MODULES = (
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


class ZooModuleError(ValueError):
    """A module of models (--zoo-module) could not be imported."""


def register_model(**fields: Any) -> Callable[[ModelBuilder], ModelBuilder]:
    """Declare the decorated zero-argument builder as a zoo model of its module (see model_spec).

    A thin front: the spec is kept until a ModelRegistry loads the module (load_modules).
    """

    def decorate(builder: ModelBuilder) -> ModelBuilder:
        _DECLARED.append(model_spec(builder, **fields))
        return builder

    return decorate


def model_spec(
    builder: ModelBuilder,
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
) -> ModelSpec:
    """The spec of a zero-argument builder. The model name defaults to the function name; the
    family defaults to the defining module's last component. See ModelSpec for the fields."""
    module = getattr(builder, "__module__", "") or ""
    return ModelSpec(
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


def set_weights_dir(path: str | Path | None) -> None:
    """Where models trained at first use keep their weights (the harness passes its cache folder);
    None: they train every time."""
    _WEIGHTS_DIR[:] = [Path(path)] if path else []


def weights_dir() -> Path | None:
    return _WEIGHTS_DIR[0] if _WEIGHTS_DIR else None


def _import_module(module: str) -> str:
    """Import a module of models by dotted name or file path; returns its module name.

    Raises:
        ZooModuleError: the module cannot be found, or importing it raised (one line, with where).
    """
    if not module.endswith(".py"):
        return _guarded(module, lambda: importlib.import_module(module) and module)
    path = Path(module).resolve()
    if not path.is_file():
        raise ZooModuleError(f"zoo module file {module!r} does not exist; give the path of a .py file")
    mod_name = f"zoo_user_{path.stem}"
    if mod_name in sys.modules:
        return mod_name
    spec = importlib.util.spec_from_file_location(mod_name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    try:
        return _guarded(module, lambda: spec.loader.exec_module(mod) or mod_name)  # type: ignore[union-attr]
    except ZooModuleError:
        del sys.modules[mod_name]  # half imported: a later load must not take it as done
        raise


def _guarded(module: str, load: Callable[[], str]) -> str:
    """`load()`, with any failure to import `module` said in one line."""
    try:
        return load()
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise ZooModuleError(
                f"zoo module {module!r} cannot be found; give a dotted module name on the Python path or a .py file"
            ) from None
        raise ZooModuleError(f"zoo module {module!r} imports {exc.name!r}, which is not installed") from None
    except SyntaxError as exc:
        raise ZooModuleError(f"zoo module {module!r} has a syntax error at line {exc.lineno}: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - whatever a user module raises, said in one line
        where = _raised_at(exc, module)
        raise ZooModuleError(f"zoo module {module!r} raised {type(exc).__name__}{where}: {exc}") from None


def _raised_at(exc: BaseException, module: str) -> str:
    """ " at line N" of the user module's own frame that raised, or ""."""
    frame = exc.__traceback__
    line = None
    while frame is not None:
        filename = frame.tb_frame.f_code.co_filename
        if filename.endswith(module.rsplit("/", 1)[-1]) or module.replace(".", "/") in filename:
            line = frame.tb_lineno
        frame = frame.tb_next
    return f" at line {line}" if line else ""


class ModelRegistry:
    """The models one run (or one worker process) knows: the built-in families and the user
    modules it loaded. The pytest plugin owns the run's; each worker builds its own at start."""

    def __init__(self, specs: Iterable[ModelSpec] = ()) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ModelSpec) -> None:
        """Add one spec; a second spec under the same name is an error."""
        existing = self._specs.get(spec.name)
        # The same builder object arriving again is a module loaded twice, not a clash.
        if existing is not None and (existing.builder is not spec.builder or existing.file_source != spec.file_source):
            raise DuplicateModelError(
                f"zoo model {spec.name!r} is registered twice: by {existing.source} and by {spec.source}; "
                "rename one of them"
            )
        self._specs[spec.name] = spec

    def load_builtin(self) -> ModelRegistry:
        """Add the built-in model families."""
        return self.load_modules(BUILTIN_MODULES)

    def load_modules(self, modules: Iterable[str]) -> ModelRegistry:
        """Import modules that declare models (dotted names or file paths) and add their models."""
        for module in modules:
            name = _import_module(module)
            for spec in [s for s in _DECLARED if s.source == name]:
                self.add(spec)
        return self

    def models_of(self, module: str) -> list[str]:
        """The names of the models a loaded module (dotted name or .py path, as given) registered."""
        source = f"zoo_user_{Path(module).stem}" if module.endswith(".py") else module
        return [name for name, spec in sorted(self._specs.items()) if spec.source == source]

    def get(self, name: str) -> ModelSpec:
        """The spec registered under `name`, or an error naming close matches."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownModelError(self._unknown_message(name)) from None

    def all_models(self) -> list[ModelSpec]:
        """Every registered spec, sorted by name."""
        return [self._specs[n] for n in sorted(self._specs)]

    def select(self, include: Sequence[str] = ("*",), exclude: Sequence[str] = ()) -> list[ModelSpec]:
        """Specs whose name matches any include glob and no exclude glob.

        Raises:
            UnknownModelError: an include glob matched nothing (its message lists close names).
        """
        names = sorted(self._specs)
        chosen: set[str] = set()
        for pattern in include:
            hits = fnmatch.filter(names, pattern)
            if not hits:
                raise UnknownModelError(self._unknown_message(pattern))
            chosen.update(hits)
        for pattern in exclude:
            chosen.difference_update(fnmatch.filter(names, pattern))
        return [self._specs[n] for n in sorted(chosen)]

    def _unknown_message(self, pattern: str) -> str:
        names = sorted(self._specs)
        close = difflib.get_close_matches(pattern, names, n=5, cutoff=0.5)
        hint = f"close names: {', '.join(close)}" if close else f"known models: {', '.join(names)}"
        return f"no zoo model matches {pattern!r}; {hint}"
