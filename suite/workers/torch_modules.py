"""The eager model's submodules, seen from inside, for triage: each one's inputs and outputs and its float32 floor.

Runs in the torch worker like suite.workers.torch_models, whose built models it uses; triage
(suite.judge.triage.divergence) matches these values to the exported graph's name scopes to find
the module where an export starts to differ from the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from suite.exporters.base import call_arguments
from suite.judge.triage.divergence import EagerModule
from suite.workers import models
from suite.workers.torch_models import ModelError, construct, flatten, tensors_of


def eager_module_outputs(name: str, inputs: dict[str, np.ndarray]) -> list[EagerModule]:
    """Every submodule's tensor inputs and outputs on `inputs`, by module path, in the order they returned,
    with each one's float32 floor (its float32 output against a float64 copy's, fed the widened inputs).

    Forward hooks record each module's first call (a module called twice, e.g. a shared activation,
    keeps its first). A quantized tensor is kept as its integers, with its scale: an error of a
    step is rounding. Triage matches them to the exported graph's name scopes
    (suite.judge.triage.divergence.first_module_divergence).
    """
    import copy

    from suite.judge.floor import widened

    spec = models.get(name)
    model = construct(name)
    single = _module_calls(spec, model, inputs)
    try:
        double = _module_calls(spec, copy.deepcopy(model).double(), {k: widened(v) for k, v in inputs.items()})
    except Exception:  # noqa: BLE001 - no float64 forward (quantized layers ...): modules judged without floors
        double = {}
    modules = []
    for path, (ins, outs, scale) in single.items():
        ins64, outs64, _ = double.get(path, ((), (), None))
        modules.append(EagerModule(path, ins, outs, scale, _floor(outs, outs64), _floor(ins, ins64)))
    return modules


def _module_calls(spec: Any, model: Any, inputs: dict[str, np.ndarray]) -> dict[str, tuple[Any, Any, Any]]:
    """(inputs, outputs, quantized output scale) of each submodule's first call, by path, in return order."""
    import torch

    recorded: dict[str, tuple[Any, Any, Any]] = {}

    def arrays(value: Any) -> tuple[np.ndarray, ...]:
        return tuple(_plain(t) for t in flatten(value))

    def hook(path: str) -> Callable[..., None]:
        def record(_module: Any, args: Any, kwargs: Any, output: Any) -> None:
            if path not in recorded:
                quantized = [t for t in flatten(output) if t.is_quantized and t.qscheme() == torch.per_tensor_affine]
                scale = float(quantized[0].q_scale()) if quantized else None
                recorded[path] = (arrays((args, kwargs)), arrays(output), scale)

        return record

    handles = [m.register_forward_hook(hook(p), with_kwargs=True) for p, m in model.named_modules() if p]
    args, kwargs = call_arguments(spec, tensors_of(inputs))
    try:
        with torch.inference_mode():
            model(*args, **(kwargs or {}))
    except Exception as exc:
        raise ModelError(f"{spec.name} forward raised {type(exc).__name__}: {exc}") from exc
    finally:
        for handle in handles:
            handle.remove()
    return recorded


def _floor(single: tuple[np.ndarray, ...], double: tuple[np.ndarray, ...]) -> float | None:
    """max |float32 - float64| over a module's float outputs (or inputs); None without a float64 run."""
    pairs = [(a, b) for a, b in zip(single, double, strict=False) if a.dtype.kind == "f" and a.shape == b.shape]
    if not pairs:
        return None
    return max(float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0)) for a, b in pairs)


def _plain(tensor: Any) -> np.ndarray:
    """A tensor as a numpy array; a quantized one as its integers (the graph's QuantizeLinear writes those)."""
    tensor = tensor.detach().cpu()
    if tensor.is_quantized:
        tensor = tensor.int_repr()
    return tensor.numpy().copy()
