"""Models that change behaviour between two runs, for the regression diff's end-to-end test.

With ZOO_INJECT=1 one model's output turns NaN, one fails to export and one runs three
times the layers (2.7x the time, measured here); without it all three pass. A fourth,
baked_on_inject (not an inj_* name, so the tests of those three leave it out), bakes its batch
into the graph when injected: its dynamic export still runs at the export's own batch of 2 and
fails at every other, on the ort path and on the latency path (timed at batch 1) alike. Each change
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


def _reshaping(baked: bool):
    """A reshape to (batch, -1) before the layer; `baked` takes the batch as a Python int, which the
    tracer records as a constant (the bug of a model that calls int() on a size)."""
    import torch

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(WIDTH, WIDTH)
            self.register_buffer("baked", torch.tensor(1.0 if baked else 0.0))

        def forward(self, x):
            batch = int(x.shape[0]) if self.baked.item() else x.shape[0]
            return torch.tanh(self.layer(x.reshape(batch, -1)))

    return Model()


@register_model(
    inputs=_X, dims={"batch": 2}, other_dims=[{"batch": 3}, {"batch": 4}], task=Task.REGRESSION, tags={"injected"}
)
def baked_on_inject():
    return _reshaping(baked=_injected())
