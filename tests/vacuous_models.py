"""Models whose outputs cannot tell a right export from a wrong one, for tests/test_vacuity.py.

- vacuous_empty: keeps the rows of its input above 1e9 (none, for normal draws): every output empty,
  like a random-weight detector that keeps no box after its score threshold.
- vacuous_constant: multiplies its input by zero and adds a constant: every element equal, like a
  quantized model whose default quantization parameters collapse its output.
- vacuous_mixed: one constant output beside an informative one: a real check, judged.
- quantized_tiny: a small quantized model (no float64 forward), judged by its quantized floor.
- hungry_scratch: a forward that needs 4 GB, for the worker memory budget (tests/test_memory_budget.py).
"""

from zoo import InputSpec, Task, register_model

_X = [InputSpec("x", (4, 3))]


@register_model(inputs=_X, task=Task.REGRESSION, tags={"vacuous"})
def vacuous_empty():
    import torch

    class KeepHuge(torch.nn.Module):
        def forward(self, x):
            keep = x[:, 0] > 1e9
            return x[keep], x[keep][:, 0]

    return KeepHuge()


@register_model(inputs=_X, task=Task.REGRESSION, tags={"vacuous"})
def vacuous_constant():
    import torch

    class Collapsed(torch.nn.Module):
        def forward(self, x):
            return x * 0.0 + 0.25

    return Collapsed()


@register_model(inputs=_X, task=Task.REGRESSION, tags={"vacuous"})
def vacuous_mixed():
    import torch

    class HalfCollapsed(torch.nn.Module):
        def forward(self, x):
            return x * 0.0 + 0.25, torch.tanh(x)

    return HalfCollapsed()


@register_model(inputs=[InputSpec("image", (2, 3, 8, 8))], task=Task.REGRESSION, tags={"quantized"})
def quantized_tiny():
    """Two quantized convolutions (fbgemm), calibrated on seeded data: judged by its quantized floor."""
    import torch

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant = torch.ao.quantization.QuantStub()
            self.conv1 = torch.nn.Conv2d(3, 8, 3)
            self.relu = torch.nn.ReLU()
            self.conv2 = torch.nn.Conv2d(8, 4, 3)
            self.dequant = torch.ao.quantization.DeQuantStub()

        def forward(self, image):
            return self.dequant(self.conv2(self.relu(self.conv1(self.quant(image)))))

    torch.backends.quantized.engine = "fbgemm"
    model = Tiny().eval()
    model.qconfig = torch.ao.quantization.get_default_qconfig("fbgemm")
    torch.ao.quantization.prepare(model, inplace=True)
    with torch.no_grad():
        model(torch.randn(16, 3, 8, 8, generator=torch.Generator().manual_seed(0)))
    return torch.ao.quantization.convert(model, inplace=True)


@register_model(inputs=_X, task=Task.REGRESSION, tags={"hungry"})
def hungry_scratch():
    """A forward that allocates a 4 GB scratch tensor: over a 2 GB worker budget."""
    import torch

    class Hungry(torch.nn.Module):
        def forward(self, x):
            scratch = torch.ones(1_000_000_000, dtype=torch.float32)  # 4 GB
            return x + scratch[:1].sum() * 0

    return Hungry()
