"""Hugging Face transformers models from tiny random configs (nothing downloaded).

Each model is wrapped so forward takes (input_ids, attention_mask) by keyword
and returns a plain tuple of tensors: no ModelOutput, no cache objects.
"""

from zoo.registry import register_model
from zoo.spec import InputSpec, Task

_VOCAB = 100
_TOKENS = {
    "inputs": [
        InputSpec("input_ids", ("batch", "seq"), dtype="int64", low=0, high=_VOCAB),
        # low=1, high=2: an all-ones mask, so padding semantics never enter the comparison.
        InputSpec("attention_mask", ("batch", "seq"), dtype="int64", low=1, high=2),
    ],
    "dims": {"batch": 2, "seq": 16},
    "other_dims": [{"batch": 3, "seq": 7}, {"batch": 1, "seq": 33}],
    "task": Task.EMBEDDING,
    "keyword_inputs": True,
}


def _tuple_outputs(model, output_count: int):
    """Wrap a transformers model so forward returns its first `output_count` outputs as a tuple."""
    import torch

    class TupleOutputs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outputs = self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, return_dict=False)
            return tuple(outputs[:output_count])

    return TupleOutputs()


@register_model(tags={"bert", "encoder", "tiny"}, **_TOKENS)
def bert_tiny():
    """BertModel, hidden 32, 2 layers, 2 heads; returns (last_hidden_state, pooler_output)."""
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=_VOCAB,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        attn_implementation="eager",
    )
    return _tuple_outputs(BertModel(config), 2)


@register_model(tags={"gpt2", "decoder", "tiny"}, **_TOKENS)
def gpt2_tiny():
    """GPT2Model, hidden 32, 2 layers, 2 heads; returns (last_hidden_state,)."""
    from transformers import GPT2Config, GPT2Model

    config = GPT2Config(
        vocab_size=_VOCAB,
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=_VOCAB - 1,
        eos_token_id=_VOCAB - 1,
        attn_implementation="eager",
    )
    return _tuple_outputs(GPT2Model(config), 1)
