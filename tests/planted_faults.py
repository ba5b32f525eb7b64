"""Models with a planted fault each, for the triage's tests (tests/test_triage.py).

- planted_symbolic: one layer is a custom autograd Function whose eager forward doubles its input
  while its ONNX symbolic (what the TorchScript exporter writes) triples it: the exporter's bug,
  in the graph's nodes of module `scale`.
- planted_random: the forward adds torch.rand noise: the eager model disagrees with itself, so no
  export can be judged against it: the model's fault. (It has no float64 forward, so the case is
  judged by its static tolerance: a float64 run would put the noise into its float32 floor.)
- planted_baked: the forward reshapes with the batch read as a Python int, which tracing records
  as a constant: the dynamic export fails at any other batch, in that Reshape node (the exporter
  wrote a graph that is wrong there; the reference evaluator fails the same way).
"""

from zoo import InputSpec, Task, register_model

_X = [InputSpec("x", ("batch", 3, 8, 8))]


def _doubling():
    import torch

    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def symbolic(g, x):
            return g.op("Mul", x, g.op("Constant", value_t=torch.tensor(3.0)))  # planted: 3, not 2

    class Scale(torch.nn.Module):
        def forward(self, x):
            return Double.apply(x)

    return Scale()


@register_model(
    inputs=_X, dims={"batch": 1}, other_dims=[{"batch": 2}, {"batch": 3}], task=Task.REGRESSION, tags={"planted"}
)
def planted_symbolic():
    import torch

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.scale = _doubling()
            self.act = torch.nn.ReLU()
            self.head = torch.nn.Linear(4 * 6 * 6, 5)

        def forward(self, x):
            return self.head(torch.flatten(self.act(self.scale(self.conv(x))), 1))

    return Model()


@register_model(
    inputs=_X, dims={"batch": 1}, other_dims=[{"batch": 2}, {"batch": 3}], task=Task.REGRESSION, tags={"planted"}
)
def planted_random():
    import torch

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, x):
            y = self.conv(x)
            if y.dtype == torch.float64:  # no float64 run: the case is judged by its static tolerance
                raise RuntimeError("planted_random has no float64 forward")
            return y + torch.rand_like(y)  # planted: a random op in forward

    return Model()


@register_model(
    inputs=_X, dims={"batch": 2}, other_dims=[{"batch": 3}, {"batch": 4}], task=Task.REGRESSION, tags={"planted"}
)
def planted_baked():
    import torch

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.head = torch.nn.Linear(4 * 6 * 6, 5)

        def forward(self, x):
            y = self.conv(x)
            return self.head(y.reshape(int(y.shape[0]), -1))  # planted: the batch as a traced constant

    return Model()
