"""Models whose outputs cannot tell a right export from a wrong one, for tests/test_vacuity.py.

- vacuous_empty: keeps the rows of its input above 1e9 (none, for normal draws): every output empty,
  like a random-weight detector that keeps no box after its score threshold.
- vacuous_constant: multiplies its input by zero and adds a constant: every element equal, like a
  quantized model whose default quantization parameters collapse its output.
- vacuous_mixed: one constant output beside an informative one: a real check, judged.
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
