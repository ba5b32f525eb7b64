"""transformers architectures from small configs as zoo entries: nothing downloaded, seeded weights.

Each row of ARCHITECTURES names a model type and the kind of inputs its forward takes; the
config is the library's default for that type, shrunk (shrunk_config: every size field the
config has is set small, in nested text/vision/audio configs too) plus the row's few overrides.
The model class is the one transformers' AutoModel maps the type to. An entry named
hf_<type> (hf_bert, hf_t5 ...), family hf_<kind>.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.checkpoints import transformers_checkpoint
from zoo.corpus.wrappers import named_forward
from zoo.registry import register_model
from zoo.spec import InputSpec, Task

VOCAB = 128
_SEQ_DIMS = {"dims": {"batch": 2, "seq": 16}, "other_dims": [{"batch": 3, "seq": 7}, {"batch": 1, "seq": 33}]}
_BATCH_DIMS = {"dims": {"batch": 2}, "other_dims": [{"batch": 1}, {"batch": 3}]}
IMAGE_SIDE = 32
AUDIO_SAMPLES = 1600  # 0.1 s at 16 kHz: 4 frames after a wav2vec2-style feature encoder shrunk below
MEL_BINS = 16
MEL_FRAMES = 64
OUTPUTS = 2  # the first two tensors a model returns: its last hidden state (or logits) and pooled output

# Every size field a default config may have, set small. Applied to the fields a config has, at
# every level (text_config, vision_config ...): heads divide widths, widths are even for rotary.
SMALL = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 2,
    "intermediate_size": 64,
    "head_dim": 16,
    "max_position_embeddings": 128,
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
    "n_embd": 32,
    "n_layer": 2,
    "n_head": 2,
    "n_inner": 64,
    "n_positions": 128,
    "num_layers": 2,
    "num_decoder_layers": 2,
    "num_heads": 2,
    "d_ff": 64,
    "d_kv": 16,
    "embedding_size": 32,
    "projection_dim": 32,
    "image_size": IMAGE_SIDE,
    "patch_size": 8,
    "num_channels": 3,
    "vocab_size": VOCAB,
    "type_vocab_size": 2,
    "num_labels": 2,
    "projection_size": 32,
    "pooler_output_size": 32,
    "word_embed_proj_dim": 32,
}
# Token ids a config keeps must be inside the small vocabulary.
_TOKEN_IDS = ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id", "sep_token_id", "cls_token_id")


@dataclass(frozen=True)
class Kind:
    """A kind of architecture: the inputs its forward takes and the family its entries join."""

    family: str
    task: Task
    inputs: tuple[InputSpec, ...]
    dims: Mapping[str, Any] = field(default_factory=dict)
    outputs: int = OUTPUTS  # how many of the model's output tensors the entry returns


def _tokens(name: str = "input_ids") -> InputSpec:
    return InputSpec(name, ("batch", "seq"), dtype="int64", low=0, high=VOCAB)


# low=1, high=2: an all-ones mask, so padding semantics never enter the comparison.
_MASK = InputSpec("attention_mask", ("batch", "seq"), dtype="int64", low=1, high=2)
_PIXELS = InputSpec("pixel_values", ("batch", 3, IMAGE_SIDE, IMAGE_SIDE))


def _speech(features: tuple[int, int]) -> Kind:
    """An encoder-decoder speech model: mel features of shape (batch, *features) and 4 decoder tokens."""
    decoder_tokens = InputSpec("decoder_input_ids", ("batch", 4), dtype="int64", low=0, high=VOCAB)
    return Kind(
        "hf_audio", Task.EMBEDDING, (InputSpec("input_features", ("batch", *features)), decoder_tokens), _BATCH_DIMS
    )


KINDS = {
    "encoder": Kind("hf_encoder", Task.EMBEDDING, (_tokens(), _MASK), _SEQ_DIMS),
    "decoder": Kind("hf_decoder", Task.EMBEDDING, (_tokens(), _MASK), _SEQ_DIMS),
    # The decoder reads the same length as the encoder: one seq dim keeps the cases' sizes few.
    "seq2seq": Kind("hf_seq2seq", Task.EMBEDDING, (_tokens(), _MASK, _tokens("decoder_input_ids")), _SEQ_DIMS),
    "vision": Kind("hf_vision", Task.EMBEDDING, (_PIXELS,), _BATCH_DIMS),
    "audio": Kind(
        "hf_audio",
        Task.EMBEDDING,
        (InputSpec("input_values", ("batch", AUDIO_SAMPLES)),),
        _BATCH_DIMS,
    ),
    "speech_seq2seq": _speech((MEL_BINS, MEL_FRAMES)),
    # Speech models that take features frames-first (batch, frames, mel bins).
    "speech_frames_first": _speech((MEL_FRAMES, MEL_BINS)),
    "spectrogram": Kind(
        "hf_audio", Task.EMBEDDING, (InputSpec("input_values", ("batch", MEL_FRAMES, MEL_BINS)),), _BATCH_DIMS
    ),
    # The similarity logits and both towers' embeddings.
    "text_image": Kind("hf_multimodal", Task.EMBEDDING, (_tokens(), _MASK, _PIXELS), _SEQ_DIMS, outputs=4),
}


@dataclass(frozen=True)
class Architecture:
    """One row of the table: a transformers model type, its kind, and config fields beyond SMALL."""

    model_type: str
    kind: str
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return "hf_" + self.model_type.replace("-", "_")


_WAV2VEC2_SMALL = {"conv_dim": (32, 32), "conv_stride": (5, 4), "conv_kernel": (10, 8), "num_feat_extract_layers": 2}
_WAV2VEC2_SMALL |= {"num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 2}

_SWIN_SMALL = {"embed_dim": 16, "depths": (1, 1), "num_heads": (2, 2), "window_size": 4}

ARCHITECTURES = (
    # Encoders.
    *(
        Architecture(t, "encoder")
        for t in (
            "albert",
            "bert",
            "canine",
            "convbert",
            "deberta-v2",
            "distilbert",
            "electra",
            "fnet",
            "mobilebert",
            "modernbert",
            "mpnet",
            "roberta",
            "squeezebert",
        )
    ),
    Architecture("esm", "encoder", {"pad_token_id": 1, "mask_token_id": 2}),
    Architecture("big_bird", "encoder", {"attention_type": "original_full"}),
    Architecture("longformer", "encoder", {"attention_window": 8}),
    # Decoders.
    *(
        Architecture(t, "decoder")
        for t in (
            "bloom",
            "falcon",
            "gemma2",
            "gpt2",
            "gpt_bigcode",
            "gpt_neox",
            "llama",
            "mamba",
            "mistral",
            "mixtral",
            "opt",
            "phi3",
            "qwen2",
            "qwen3_moe",
            "starcoder2",
        )
    ),
    Architecture("codegen", "decoder", {"rotary_dim": 8}),
    Architecture("gptj", "decoder", {"rotary_dim": 8}),
    # Encoder-decoders.
    *(
        Architecture(t, "seq2seq")
        for t in ("bart", "blenderbot", "longt5", "m2m_100", "marian", "mbart", "pegasus", "t5")
    ),
    Architecture("led", "seq2seq", {"attention_window": 8}),
    Architecture("prophetnet", "seq2seq", {"num_encoder_layers": 2, "num_decoder_layers": 2}),
    # Vision.
    Architecture("vit", "vision"),
    Architecture("deit", "vision"),
    Architecture("beit", "vision"),
    Architecture("dinov2", "vision"),
    Architecture("resnet", "vision", {"hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "embedding_size": 16}),
    Architecture("regnet", "vision", {"hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1), "embedding_size": 16}),
    Architecture("swin", "vision", {**_SWIN_SMALL, "patch_size": 4}),
    Architecture("swinv2", "vision", _SWIN_SMALL),
    Architecture(
        "mobilevit", "vision", {"hidden_sizes": (32, 48, 64), "neck_hidden_sizes": (8, 8, 16, 16, 24, 32, 64)}
    ),
    Architecture("mobilenet_v2", "vision", {"depth_multiplier": 0.35}),
    Architecture("levit", "vision", {"hidden_sizes": (32, 48, 64), "num_attention_heads": (2, 2, 2), "patch_size": 16}),
    Architecture("segformer", "vision", {"hidden_sizes": (16, 32, 64, 128), "depths": (1, 1, 1, 1)}),
    # The default config is EfficientNet-B7; B0's coefficients.
    Architecture("efficientnet", "vision", {"width_coefficient": 1.0, "depth_coefficient": 1.0, "hidden_dim": 1280}),
    # Audio.
    Architecture("wav2vec2", "audio", _WAV2VEC2_SMALL),
    Architecture("hubert", "audio", _WAV2VEC2_SMALL),
    Architecture("wavlm", "audio", _WAV2VEC2_SMALL),
    Architecture("wav2vec2-conformer", "audio", _WAV2VEC2_SMALL),
    Architecture("whisper", "speech_seq2seq", {"num_mel_bins": MEL_BINS, "max_source_positions": MEL_FRAMES // 2}),
    Architecture("speech_to_text", "speech_frames_first", {"input_feat_per_channel": MEL_BINS, "conv_channels": 32}),
    Architecture("audio-spectrogram-transformer", "spectrogram", {"max_length": MEL_FRAMES, "num_mel_bins": MEL_BINS}),
    # Multimodal: text and image in one forward.
    *(Architecture(t, "text_image") for t in ("blip", "clip", "groupvit", "owlvit", "siglip", "vilt")),
)


def shrunk_config(model_type: str, overrides: Mapping[str, Any]) -> Any:
    """The library's default config for `model_type` with SMALL and `overrides` applied at every level."""
    from transformers import AutoConfig

    config = AutoConfig.for_model(model_type)
    _shrink(config, overrides)
    return config


def _shrink(config: Any, overrides: Mapping[str, Any]) -> None:
    for key, value in {**SMALL, **overrides}.items():
        if key in overrides or (hasattr(config, key) and not isinstance(getattr(config, key), list | tuple)):
            try:
                setattr(config, key, value)
            except (AttributeError, NotImplementedError):  # derived (a property), or set through other fields
                if key in overrides:
                    raise
    for key in _TOKEN_IDS:
        token = getattr(config, key, None)
        if isinstance(token, int) and token >= VOCAB:
            setattr(config, key, VOCAB - 1)
    for sub in ("text_config", "vision_config", "audio_config", "encoder", "decoder"):
        nested = getattr(config, sub, None)
        if nested is not None and hasattr(nested, "to_dict"):
            _shrink(nested, {})
    # Eager attention: the same math on every exporter, and no SDPA kernel choice in the eager reference.
    config._attn_implementation = "eager"


def _model_class(model_type: str) -> Any:
    import transformers
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    return getattr(transformers, MODEL_MAPPING_NAMES[model_type])


def _call(model: Any, inputs: Mapping[str, Any]) -> Any:
    import inspect

    accepted = inspect.signature(model.forward).parameters
    # No cache objects and no ModelOutput: plain tensors out, the same on every exporter.
    options = {k: False for k in ("use_cache", "return_loss") if k in accepted}
    return model(**inputs, **options, return_dict=True)


def _entry_builder(arch: Architecture) -> Any:
    kind = KINDS[arch.kind]

    def build() -> Any:
        checkpoint = transformers_checkpoint(arch.name)
        if checkpoint is None:
            model = _model_class(arch.model_type)(shrunk_config(arch.model_type, arch.overrides))
        else:
            model = _pretrained(arch, checkpoint)
        return named_forward(model, [spec.name for spec in kind.inputs], _call, kind.outputs).eval()

    build.__name__ = arch.name
    build.__doc__ = f"transformers {arch.model_type} ({arch.kind}) from a shrunk default config"
    return build


def _pretrained(arch: Architecture, folder: Path) -> Any:
    """The entry's model class from a save_pretrained folder (zoo.checkpoints), with eager attention."""
    from transformers import AutoConfig

    found = AutoConfig.from_pretrained(folder).model_type
    if found != arch.model_type:
        raise ValueError(f"{folder} holds a {found} checkpoint; {arch.name} takes a {arch.model_type} one")
    return _model_class(arch.model_type).from_pretrained(folder, attn_implementation="eager")


def _register_all() -> None:
    for arch in ARCHITECTURES:
        kind = KINDS[arch.kind]
        register_model(
            name=arch.name,
            family=kind.family,
            task=kind.task,
            inputs=kind.inputs,
            keyword_inputs=True,
            tags={"transformers", "generated", arch.kind},
            **kind.dims,
        )(_entry_builder(arch))


_register_all()
