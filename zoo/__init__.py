"""WHAT is tested: model specs, the registry that holds them, and known failures."""

from zoo.registry import (
    DuplicateModelError,
    UnknownModelError,
    all_models,
    get,
    load_builtin,
    load_modules,
    register_model,
    select,
)
from zoo.spec import HeldOut, InputSpec, ModelSpec, QuantPolicy, Task, Tolerance

__all__ = [
    "DuplicateModelError",
    "HeldOut",
    "InputSpec",
    "ModelSpec",
    "QuantPolicy",
    "Task",
    "Tolerance",
    "UnknownModelError",
    "all_models",
    "get",
    "load_builtin",
    "load_modules",
    "register_model",
    "select",
]
