"""Small multilayer perceptrons."""

from zoo.registry import register_model
from zoo.spec import InputSpec, Task


@register_model(
    inputs=[InputSpec("x", ("batch", 10))],
    dims={"batch": 1},
    other_dims=[{"batch": 2}, {"batch": 7}],
    task=Task.REGRESSION,
    tags={"mlp", "tiny"},
)
def mlp():
    """The MLP from the ONNX primer: Linear(10, 20) + ReLU."""
    import torch

    return torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU())
