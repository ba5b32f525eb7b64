"""Models that change behaviour between two runs, for the regression diff's end-to-end test.

With ZOO_INJECT=1 one model's output turns NaN, one fails to export and one runs three
times the layers (2.7x the time, measured here); without it all three pass. Each change
shows in the model's state (a buffer or its layers), as a real change would, so no cached
export or reference hides it. The layers are 512 wide: a smaller model times in tens of
microseconds, where this machine's jitter swamps a run-to-run comparison.
"""

import os

from zoo import InputSpec, Task, register_model

WIDTH = int(os.environ.get("ZOO_INJECT_WIDTH", "512"))
_X = [InputSpec("x", ("batch", WIDTH))]
_DIMS = {"batch": 1}
_OTHER = [{"batch": 2}, {"batch": 3}]


def _injected() -> bool:
    return os.environ.get("ZOO_INJECT") == "1"


def _model(layers: int, scale: float = 1.0, break_export: bool = False):
    import torch

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(WIDTH, WIDTH) for _ in range(layers))
            self.register_buffer("scale", torch.tensor(scale))
            self.register_buffer("broken", torch.tensor(1.0 if break_export else 0.0))

        def forward(self, x):
            if self.broken.item() and (torch.jit.is_tracing() or torch.compiler.is_exporting()):
                raise RuntimeError("injected export failure")
            for layer in self.layers:
                x = torch.tanh(layer(x))
            return x * self.scale

    return Model()


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"injected"})
def inj_nan():
    return _model(2, scale=float("nan") if _injected() else 1.0)


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"injected"})
def inj_export():
    return _model(2, break_export=_injected())


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"injected"})
def inj_slow():
    return _model(24 if _injected() else 8)


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"injected"})
def inj_stable():
    return _model(8)
