"""tf2onnx on a Keras model: traced as a tf.function whose signature carries the spec's names.

The model is wrapped in a tf.function with an explicit input signature rather
than handed to tf2onnx.convert.from_keras. from_keras traces through Keras 2
internals (trace_model_call / _get_save_spec) that Keras 3 no longer has and
then falls back to a signature of auto-named inputs ("keras_tensor_3"), so the
ONNX input names would depend on how many Keras tensors the process had made.
With from_function the graph input names are the TensorSpec names, i.e.
spec.input_names(), in every process. The graph outputs (tf2onnx names them
"Identity:0", "Identity_1:0", ...) are renamed to the requested output names.

Runs in the TF worker only (imports TensorFlow and tf2onnx when called).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from suite.exporters.base import Exporter, ExportRequest
from zoo.spec import ModelSpec


def call_keras(spec: ModelSpec, model: Any, values: Sequence[Any]) -> Any:
    """Call the Keras model in inference mode (training=False) the way its inputs are declared.

    One input: ``model(x)``; keyword_inputs: ``model({name: x})``; several: ``model([a, b])``.
    """
    if spec.keyword_inputs:
        return model(dict(zip(spec.input_names(), values, strict=True)), training=False)
    if len(values) == 1:
        return model(values[0], training=False)
    return model(list(values), training=False)


def flatten_outputs(result: Any) -> list[Any]:
    """A Keras call's outputs as a flat list, in tf.nest order (dict entries by sorted key)."""
    import tensorflow as tf  # noqa: TID251 - runs in the TF worker only

    return list(tf.nest.flatten(result))


def rename_graph_tensors(graph: Any, renames: Mapping[str, str]) -> None:
    """Rename tensors everywhere in an onnx GraphProto (nodes, subgraphs, inputs, outputs, value_info).

    Raises:
        ValueError: a new name is already the name of another tensor in the graph.
    """
    renames = {old: new for old, new in renames.items() if old != new}
    if not renames:
        return
    taken = _tensor_names(graph) - set(renames)
    clashes = sorted(set(renames.values()) & taken)
    if clashes:
        raise ValueError(f"cannot rename graph tensors to {clashes}: the graph already has tensors of those names")
    _rename_in_graph(graph, renames)


def _tensor_names(graph: Any) -> set[str]:
    names = {v.name for v in (*graph.input, *graph.output, *graph.value_info)}
    names.update(t.name for t in graph.initializer)
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
    return names


def _rename_in_graph(graph: Any, renames: Mapping[str, str]) -> None:
    from onnx import AttributeProto

    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = renames.get(value.name, value.name)
    for tensor in graph.initializer:
        tensor.name = renames.get(tensor.name, tensor.name)
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
        for attr in node.attribute:
            # Subgraphs (Loop, If, Scan bodies) may read outer tensors by name.
            if attr.type == AttributeProto.GRAPH:
                _rename_in_graph(attr.g, renames)
            elif attr.type == AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    _rename_in_graph(sub, renames)


class Tf2OnnxExporter(Exporter):
    name = "tf2onnx"

    def _export_impl(
        self,
        spec: ModelSpec,
        model: Any,
        example: dict[str, Any],
        output_names: tuple[str, ...],
        request: ExportRequest,
    ) -> None:
        import onnx
        import tensorflow as tf  # noqa: TID251 - runs in the TF worker only
        import tf2onnx

        signature = []
        for inp in spec.inputs:
            value = example[inp.name]
            shape: list[int | None] = list(value.shape)
            if request.dynamic:
                for axis in inp.dynamic_dims:
                    shape[axis] = None
            signature.append(tf.TensorSpec(shape, tf.as_dtype(value.dtype), name=inp.name))

        @tf.function(input_signature=signature)
        def forward(*args: Any) -> list[Any]:
            return flatten_outputs(call_keras(spec, model, args))

        proto, _ = tf2onnx.convert.from_function(forward, input_signature=signature, opset=request.opset)
        produced = [o.name for o in proto.graph.output]
        if len(produced) != len(output_names):
            raise RuntimeError(
                f"tf2onnx wrote {len(produced)} graph outputs {produced}; "
                f"expected {len(output_names)}: {list(output_names)}"
            )
        rename_graph_tensors(proto.graph, dict(zip(produced, output_names, strict=True)))
        got_inputs = [i.name for i in proto.graph.input]
        if got_inputs != list(spec.input_names()):
            raise RuntimeError(f"tf2onnx named the graph inputs {got_inputs}, expected {list(spec.input_names())}")
        onnx.save(proto, request.path)
