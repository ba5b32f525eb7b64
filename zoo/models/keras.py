"""Keras 3 models (framework="keras"), built in code with seeded random weights.

They run in the TF worker only (suite.workers.keras_models) and are exported by tf2onnx.
The builders import keras lazily, so listing the zoo imports no TensorFlow.
Input names are the keras.Input names and, through suite.exporters.tf2onnx_keras,
the ONNX graph input names.
"""

from zoo.registry import register_model
from zoo.spec import InputSpec, Task

_BATCH = {"dims": {"batch": 1}, "other_dims": [{"batch": 2}, {"batch": 3}]}


def _calibrate_batchnorm(model, batch):
    """Set every BatchNormalization's moving statistics from one seeded batch; return the model.

    The Keras twin of zoo.models.vision._calibrate_batchnorm: fresh BatchNorm
    layers hold mean 0 / variance 1, so in inference they normalise nothing and
    random-weight activations fade layer after layer (measured: MobileNetV2's
    max |logit| 1.7e-10 uncalibrated, 2.4 calibrated; its softmax a flat
    1/classes). One training-mode call with momentum 0 makes each layer's
    moving statistics the batch statistics it sees, computed layer after layer
    as in torch's calibration pass.
    """
    import keras

    norms = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.momentum = 0.0
    model(batch, training=True)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    return model


def _all_layers(layer):
    """The layer and every layer nested in it (models inside models), depth first."""
    yield layer
    for child in getattr(layer, "layers", ()):
        yield from _all_layers(child)


@register_model(
    inputs=[InputSpec("image", ("batch", 96, 96, 3))],
    task=Task.CLASSIFICATION,
    tags={"cnn", "mobilenet", "keras", "small"},
    framework="keras",
    **_BATCH,
)
def keras_mobilenet_v2():
    """keras.applications.MobileNetV2, alpha 0.35, 10 classes, 96x96 NHWC; returns logits."""
    import keras
    import numpy as np

    image = keras.Input((96, 96, 3), name="image")
    model = keras.applications.MobileNetV2(
        input_tensor=image, alpha=0.35, weights=None, classes=10, classifier_activation=None
    )
    batch = np.random.default_rng(0).standard_normal((4, 96, 96, 3)).astype("float32")
    return _calibrate_batchnorm(model, batch)


@register_model(
    inputs=[InputSpec("x", ("batch", "seq", 8))],
    dims={"batch": 1, "seq": 10},
    other_dims=[{"batch": 2, "seq": 5}, {"batch": 3, "seq": 17}],
    task=Task.SEQUENCE,
    tags={"rnn", "lstm", "keras", "tiny"},
    framework="keras",
)
def keras_lstm():
    """LSTM(16) returning the full sequence, then Dense(4) per step: (batch, seq, 8) -> (batch, seq, 4)."""
    import keras

    x = keras.Input((None, 8), name="x")
    hidden = keras.layers.LSTM(16, return_sequences=True)(x)
    return keras.Model(x, keras.layers.Dense(4)(hidden), name="keras_lstm")


@register_model(
    inputs=[InputSpec("x", ("batch", 10))],
    dims={"batch": 1},
    other_dims=[{"batch": 2}, {"batch": 7}],
    task=Task.REGRESSION,
    tags={"mlp", "keras", "tiny"},
    framework="keras",
)
def keras_mlp():
    """Dense(32, relu) -> Dense(4) on 10 features."""
    import keras

    x = keras.Input((10,), name="x")
    hidden = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(x, keras.layers.Dense(4)(hidden), name="keras_mlp")
