"""The zoo as this worker process knows it: built once, by the worker's initializer."""

from __future__ import annotations

from suite.workers.settings import WorkerSettings
from zoo import checkpoints, registry
from zoo.registry import ModelRegistry
from zoo.spec import ModelSpec

_LOADED: list[ModelRegistry] = []  # this process's registry, once loaded


def load(settings: WorkerSettings) -> None:
    """The built-in families and the run's user modules, and the folder trained weights go to."""
    registry.set_weights_dir(settings.weights_dir)
    checkpoints.set_checkpoints_dir(settings.checkpoints_dir)
    _LOADED[:] = [ModelRegistry().load_builtin().load_modules(settings.user_modules)]


def get(name: str) -> ModelSpec:
    """The spec of `name` in this worker's zoo."""
    if not _LOADED:
        raise RuntimeError("this worker's zoo is not loaded: start the worker with its init_worker")
    return _LOADED[0].get(name)
