"""WHAT is tested: model specs, the registry that holds them, and known failures."""

from zoo.registry import DuplicateModelError, ModelRegistry, UnknownModelError, register_model
from zoo.spec import HeldOut, InputSpec, ModelSpec, QuantPolicy, Task, Tolerance

__all__ = [
    "DuplicateModelError",
    "HeldOut",
    "InputSpec",
    "ModelRegistry",
    "ModelSpec",
    "QuantPolicy",
    "Task",
    "Tolerance",
    "UnknownModelError",
    "register_model",
]
