"""Recurrent and attention sequence models over (batch, seq, features) float inputs."""

from zoo.registry import register_model
from zoo.spec import InputSpec, Task

_FEATURES = 16
_SEQ = {
    "inputs": [InputSpec("x", ("batch", "seq", _FEATURES))],
    "dims": {"batch": 1, "seq": 12},
    "other_dims": [{"batch": 2, "seq": 5}, {"batch": 3, "seq": 31}],
    "task": Task.SEQUENCE,
}


def _recurrent(cell: str):
    """A 2-layer batch-first LSTM or GRU (hidden 32) + Linear(32, 8) head over every step."""
    import torch

    class Recurrent(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            rnn_class = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
            self.rnn = rnn_class(input_size=_FEATURES, hidden_size=32, num_layers=2, batch_first=True)
            self.head = torch.nn.Linear(32, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            sequence, _ = self.rnn(x)  # drop the final (h, c) state: the sequence carries it
            return self.head(sequence)

    return Recurrent()


@register_model(tags={"rnn", "lstm", "tiny"}, **_SEQ)
def lstm():
    """2-layer LSTM, hidden 32, with a per-step Linear head; returns (batch, seq, 8)."""
    return _recurrent("lstm")


@register_model(tags={"rnn", "gru", "tiny"}, **_SEQ)
def gru():
    """2-layer GRU, hidden 32, with a per-step Linear head; returns (batch, seq, 8)."""
    return _recurrent("gru")


@register_model(tags={"transformer", "encoder", "tiny"}, **_SEQ)
def transformer_encoder():
    """torch.nn.TransformerEncoder: input projection 16->32, 2 layers, 4 heads; returns (batch, seq, 32)."""
    import torch

    layer = torch.nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
    return torch.nn.Sequential(
        torch.nn.Linear(_FEATURES, 32),
        torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False),
    )
