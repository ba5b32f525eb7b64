"""Every torchvision model builder as a zoo entry: weights=None (nothing downloaded), seeded, inputs sized per family.

The builders come from torchvision.models.list_models, family by family, so a torchvision
release that adds a model adds an entry. Inputs are as small as each architecture allows:
64x64 images, 8-frame 64x64 clips, 128x128 image pairs for optical flow; the few builders
with a fixed or minimum input size get theirs (_IMAGE_SIZE, _CLIP). An entry named
tv_<builder> (tv_resnet50, tv_quantized_mobilenet_v2 ...), family tv_<family>.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from zoo.checkpoints import torchvision_weights
from zoo.corpus.size_cap import MemoryEstimate, activation_bytes, check_fits, on_meta, parameter_count
from zoo.corpus.wrappers import Call, named_forward
from zoo.registry import register_model
from zoo.spec import InputSpec, Task

_BATCH = {"dims": {"batch": 1}, "other_dims": [{"batch": 2}, {"batch": 3}]}
# Quantized builders are built as their quantizable float model and quantized here (_quantize).
# Builders whose architecture needs more than 64x64 (maxvit partitions a 224 grid; inception_v3's
# stem needs at least 75; AlexNet and the VGGs end in an adaptive pooling to 7x7, which the
# TorchScript exporter converts only where the feature map is a multiple of 7: 2x2 at 64x64 made it
# refuse every one of them, 7x7 at 224) or whose image size is a constructor argument.
_IMAGE_SIZE = {
    "maxvit_t": 224,
    "inception_v3": 96,
    "quantized_inception_v3": 96,
    "alexnet": 224,
    **{f"vgg{depth}{bn}": 224 for depth in (11, 13, 16, 19) for bn in ("", "_bn")},
}
_VIT_PATCH_GRID = 4  # a ViT built for 4x4 patches: image_size = 4 * patch size
# (frames, side) of a clip: S3D pools a 7x7 grid over 2 time steps, MViT has fixed 16x224x224 positions.
_CLIP = {"s3d": (16, 224), "mvit_v1_b": (16, 224), "mvit_v2_s": (16, 224)}
_DEFAULT_CLIP = (8, 64)
_DETECTION_SIDE = 128
_FLOW_SIDE = 128  # RAFT's correlation pyramid needs four levels below 1/8 of the image
# Detections kept per image: the tail of torchvision's 100-300 is near-tied random scores, whose
# order float32 rounding alone decides (see zoo.models.vision.ssdlite320_mobilenet_v3_large).
_DETECTIONS = 20


@dataclass(frozen=True)
class Family:
    """One torchvision.models submodule and how its models are fed and called."""

    name: str
    submodule: str  # "" for the classification models at the top of torchvision.models
    task: Task
    kwargs: Callable[[str], dict[str, Any]]  # builder name -> keyword arguments besides weights=None
    inputs: Callable[[str], dict[str, Any]]  # builder name -> register_model's inputs/dims/other_dims
    call: Call  # how the wrapper calls the model on its named inputs
    # BatchNorm statistics come from one seeded batch of this many (0: none). Too few samples
    # leave deep nets ill-conditioned: EfficientNet-B4 calibrated on 2 images of 64x64 gave logits
    # of 2e4 whose float32 and float64 runs differed by 3e3 (every export a "mismatch"); on 32,
    # logits of 0.5 and a float32 error of 3e-6.
    calibration_batch: int = 32
    # What is done to the calibrated model last (the quantization family quantizes it here).
    finish: Callable[[Any, Any, list[Any]], None] | None = None


def _image(side: int) -> dict[str, Any]:
    return {"inputs": [InputSpec("image", ("batch", 3, side, side))], **_BATCH}


def _classification_kwargs(builder: str) -> dict[str, Any]:
    if builder.startswith("vit_"):
        patch = int(builder.rsplit("_", 1)[-1])
        return {"image_size": _VIT_PATCH_GRID * patch}
    return {"init_weights": True} if builder in ("googlenet", "inception_v3") else {}


def _classification_inputs(builder: str) -> dict[str, Any]:
    if builder.startswith("vit_"):
        return _image(_VIT_PATCH_GRID * int(builder.rsplit("_", 1)[-1]))
    return _image(_IMAGE_SIZE.get(builder, 64))


def _detection_kwargs(builder: str) -> dict[str, Any]:
    kept = "box_detections_per_img" if "rcnn" in builder else "detections_per_img"
    # R-CNNs, RetinaNet and FCOS resize every image to min_size (800 by default); SSDs to their own fixed size.
    sizes = {} if builder.startswith("ssd") else {"min_size": _DETECTION_SIDE, "max_size": _DETECTION_SIDE}
    return {"weights_backbone": None, kept: _DETECTIONS, **sizes}


def _first_image_detections(model: Any, inputs: Mapping[str, Any]) -> Any:
    """The first image's detections, then the raw outputs of the model's dense head.

    Detection models take a list of CHW images and return one dict per image; the number of
    detections is data-dependent, so the entry is static: one image, its dict. With random
    weights most keep no box above their score threshold (boxes (0, 4)): a comparison of those
    alone compares nothing (suite.judge.vacuity). The dense head's outputs before any
    post-processing (RetinaNet's, FCOS's and the SSDs' classification and box regression maps;
    the R-CNNs' region proposal head's objectness and box deltas per feature level) are
    convolutions of the image with no selection, threshold or sort in them, so float32 rounding
    cannot reorder them: their comparison is stable, calibrated by the floor like any output.
    The post-processed detections stay outputs: an export must still keep the same boxes.
    """
    head = model.rpn.head if hasattr(model, "rpn") else model.head
    raw: list[Any] = []
    handle = head.register_forward_hook(lambda _module, _args, output: raw.append(output))
    try:
        detections = model(list(inputs["image"].unbind(0)))[0]
    finally:
        handle.remove()
    return detections, raw[0]


def _final_flow(model: Any, inputs: Mapping[str, Any]) -> Any:
    return model(inputs["image1"], inputs["image2"])[-1]  # RAFT returns every refinement; the last is the flow


def _single_input(model: Any, inputs: Mapping[str, Any]) -> Any:
    return model(*inputs.values())


def _quantize(model: Any, wrapper: Any, example: list[Any]) -> None:
    """Post-training static quantization as torchvision's `quantize=True` does it (its backend and
    qconfig, fuse, prepare, convert), but calibrated on the entry's own seeded batch after its
    BatchNorm statistics are set.

    torchvision calibrates on one torch.rand image of 299x299 with BatchNorm at its initial
    statistics: some observers never saw data ("must run observer before calling
    calculate_qparams") and five entries' outputs collapsed to one constant, so every comparison
    of them passed on nothing.
    """
    import torch

    # torchvision's default backend per builder: per-channel weights on fbgemm, per-tensor on qnnpack.
    backend = "qnnpack" if type(model).__name__.startswith("QuantizableMobileNet") else "fbgemm"
    torch.backends.quantized.engine = backend
    weight = (
        torch.ao.quantization.default_per_channel_weight_observer
        if backend == "fbgemm"
        else torch.ao.quantization.default_weight_observer
    )
    model.eval()
    model.qconfig = torch.ao.quantization.QConfig(activation=torch.ao.quantization.default_observer, weight=weight)
    model.fuse_model()
    torch.ao.quantization.prepare(model, inplace=True)
    with torch.no_grad():
        wrapper(*example)
    torch.ao.quantization.convert(model, inplace=True)


FAMILIES = (
    Family("classification", "", Task.CLASSIFICATION, _classification_kwargs, _classification_inputs, _single_input),
    Family(
        "quantization",
        "quantization",
        Task.CLASSIFICATION,
        lambda b: {"quantize": False},  # the quantizable float model; _quantize quantizes it on seeded data
        lambda b: _image(_IMAGE_SIZE.get(b, 64)),
        _single_input,
        finish=_quantize,
    ),
    Family(
        "detection",
        "detection",
        Task.DETECTION,
        _detection_kwargs,
        lambda b: {"inputs": [InputSpec("image", (1, 3, _DETECTION_SIDE, _DETECTION_SIDE))]},
        _first_image_detections,
        calibration_batch=8,
    ),
    Family(
        "segmentation",
        "segmentation",
        Task.SEGMENTATION,
        lambda b: {"weights_backbone": None},
        lambda b: _image(64),
        _single_input,
    ),
    Family(
        "video",
        "video",
        Task.CLASSIFICATION,
        lambda b: {},
        lambda b: {"inputs": [InputSpec("clip", ("batch", 3, *_frames_and_side(b)))], **_BATCH},
        _single_input,
        calibration_batch=4,  # a clip is 8 to 16 frames: 4 clips hold as many frames as 32 images
    ),
    Family(
        "optical_flow",
        "optical_flow",
        Task.REGRESSION,
        lambda b: {},
        lambda b: {
            "inputs": [InputSpec(n, ("batch", 3, _FLOW_SIDE, _FLOW_SIDE)) for n in ("image1", "image2")],
            **_BATCH,
        },
        _final_flow,
        calibration_batch=8,
    ),
)


def _frames_and_side(builder: str) -> tuple[int, int, int]:
    frames, side = _CLIP.get(builder, _DEFAULT_CLIP)
    return frames, side, side


def builders(family: Family) -> list[str]:
    """The builder names torchvision lists for a family."""
    import torchvision

    module = getattr(torchvision.models, family.submodule) if family.submodule else torchvision.models
    return list(torchvision.models.list_models(module=module))


def _example(inputs: list[InputSpec], batch: int) -> list[Any]:
    """A seeded batch of `batch` at an entry's input shapes, for BatchNorm calibration (every input's
    axis 0 is its batch, a fixed 1 included: detection)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    return [torch.randn(batch, *spec.shape[1:], generator=generator) for spec in inputs]


def _estimate(wrapper: Any, inputs: list[InputSpec], device: str) -> MemoryEstimate:
    """The export's memory estimate for an entry's model (on `device`) at its export batch of 1."""
    import torch

    example = [torch.zeros(1, *spec.shape[1:], device=device) for spec in inputs]
    at = ", ".join("x".join(str(d) for d in t.shape) for t in example)
    return MemoryEstimate(parameter_count(wrapper), activation_bytes(wrapper, example), at)


def _entry_builder(family: Family, builder: str, inputs: list[InputSpec]) -> Callable[[], Any]:
    def build() -> Any:
        import torchvision

        kwargs = {"weights": None, **family.kwargs(builder)}
        # Real weights where their file is already in torch hub's cache (never downloaded); they
        # bring their own BatchNorm statistics. The quantization family quantizes its own model.
        local = None if family.finish is not None else torchvision_weights(builder)
        if local is not None:
            kwargs["weights"] = local

        def make() -> Any:
            return torchvision.models.get_model(builder, **kwargs)

        names = [spec.name for spec in inputs]
        # What the export will need, estimated on the meta device where the builder allows it, so a
        # model over the budget is never allocated (the float twin of a quantized model has its parameters).
        meta = on_meta(lambda: torchvision.models.get_model(builder, **{**kwargs, "weights": None}))
        if meta is not None:
            check_fits(f"tv_{builder}", _estimate(named_forward(meta, names, family.call), inputs, "meta"))
        model = make()
        if local is None:
            _seed_zero_weights(model)
        wrapper = named_forward(model, names, family.call)
        if meta is None:
            check_fits(f"tv_{builder}", _estimate(wrapper, inputs, "cpu"))
        if family.calibration_batch and local is None:
            from zoo.models.vision import calibrate_batchnorm

            example = _example(inputs, family.calibration_batch)
            calibrate_batchnorm(wrapper, *example)
            if family.finish is not None:
                family.finish(model, wrapper, example)
        return wrapper.eval()

    build.__name__ = f"tv_{builder}"
    build.__doc__ = f"torchvision.models.get_model({builder!r}, weights=None), {family.name}"
    return build


def _seed_zero_weights(model: Any) -> None:
    """Seeded values for every Linear layer whose weight starts at all zeros.

    torchvision's ViTs initialize their classification head to zeros (for fine-tuning from real
    weights); with weights=None every logit is then 0 whatever the image, and the entry's rows
    could only be "not judged: output constant". The head gets torch's default Linear init from a
    seeded generator instead, so the output depends on the input again.
    """
    import math

    import torch

    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and not module.weight.any():
                bound = 1.0 / math.sqrt(module.in_features)
                module.weight.copy_(torch.empty_like(module.weight).uniform_(-bound, bound, generator=generator))


def _register_all() -> None:
    for family in FAMILIES:
        for builder in builders(family):
            fields = family.inputs(builder)
            register_model(
                name=f"tv_{builder}",
                family=f"tv_{family.name}",
                task=family.task,
                tags={"torchvision", "generated", family.name},
                **fields,
            )(_entry_builder(family, builder, list(fields["inputs"])))


_register_all()
