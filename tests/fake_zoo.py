"""Deliberately broken models, registered from outside zoo/ the way a user would (--zoo-module).

Each one exercises a failure the suite must turn into a clear, labelled row.
"""

import os
import signal

from zoo import InputSpec, Task, register_model

_X = [InputSpec("x", ("batch", 10))]
_DIMS = {"batch": 1}
_OTHER = [{"batch": 2}, {"batch": 3}]


def _module(forward):
    import torch

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(10, 4)

        def forward(self, x):
            return forward(self, x)

    return Model()


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"fake"})
def fake_forward_raises():
    """forward() raises: a model_error row, not an exporter failure."""

    def forward(self, x):
        raise RuntimeError("this model's forward is broken on purpose")

    return _module(forward)


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"fake"})
def fake_nan_output():
    """The eager output contains NaN: it must never pass a comparison."""

    def forward(self, x):
        y = self.linear(x)
        return y * float("nan")

    return _module(forward)


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"fake"})
def fake_baked_batch():
    """int() on a traced size bakes the batch into the graph as a constant."""

    def forward(self, x):
        import torch

        pad = torch.zeros(int(x.shape[0]), 2)
        return torch.cat([self.linear(x), pad], dim=1)

    return _module(forward)


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"fake"})
def fake_branch_on_size():
    """Control flow the tracer records as one branch: right shapes, wrong values at other sizes."""

    def forward(self, x):
        y = self.linear(x)
        return y * 2 if x.shape[0] % 2 == 0 else -y

    return _module(forward)


@register_model(inputs=_X, dims=_DIMS, other_dims=_OTHER, task=Task.REGRESSION, tags={"fake"})
def fake_segfault():
    """Kills its own process during export: a crash row, and the run goes on."""

    def forward(self, x):
        import torch

        if torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.compiler.is_exporting():
            os.kill(os.getpid(), signal.SIGSEGV)
        return self.linear(x)

    return _module(forward)
