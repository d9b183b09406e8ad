"""Setting a Keras model's weights by layer name, from any of the readers in this package."""

from typing import Iterable

import keras
import numpy as np

from data.tasks import describe_outputs
from errors import UserError

_CHECK = "check {bert_config}, {model_format} and {retention} against the checkpoint"


def assign_weights(model: keras.Model, weights: dict[str, list[np.ndarray]],
                   optional: Iterable[str] = ()) -> list[str]:
    """Sets every weighted layer of `model` from `weights[layer.name]`, checking count and shapes.

    Args:
        model: the Keras model; its layers are named as the original (docs/SPEC.md §5).
        weights: {layer name: arrays in the layer's weight order}, e.g. from
            read_google_checkpoint or read_hdf5_weights; layers the model lacks are ignored.
        optional: layer names that may be absent from `weights` (e.g. "NSP" when starting from a
            pre-trained checkpoint, or Soft-Extract layers); they keep their initial values.

    Returns:
        The names of the weighted layers left at their initial values.
    """
    optional = set(optional)
    kept_initial = []
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in weights:
            if layer.name not in optional:
                raise UserError(f"the checkpoint has no weights for layer {layer.name}; {_CHECK}")
            kept_initial.append(layer.name)
            continue
        layer.set_weights(_fit(layer, weights[layer.name]))
    return kept_initial


def _fit(layer: keras.layers.Layer, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Checks one layer's stored arrays against its variables; cuts a longer position table.

    Args:
        layer: the model's layer.
        arrays: the stored arrays for it, in the layer's weight order.
    """
    if len(arrays) != len(layer.weights):
        raise UserError(f"layer {layer.name} has {len(layer.weights)} weights but the checkpoint "
                        f"holds {len(arrays)} for it; {_CHECK}")
    fitted = []
    for index, (variable, array) in enumerate(zip(layer.weights, arrays)):
        expected, found = tuple(variable.shape), tuple(np.shape(array))
        # Checkpoints keep all max_position_embeddings rows; the model has the task's seq_len.
        if (layer.name == "Embedding-Position" and len(found) == len(expected) == 2
                and found[0] > expected[0] and found[1:] == expected[1:]):
            array, found = array[:expected[0]], expected
        if layer.name == "NSP" and found[-1:] != expected[-1:]:  # one output per class
            raise UserError(f"the checkpoint's classifier (layer NSP) has "
                            f"{describe_outputs(found[-1])}, but the model for {{task}} has "
                            f"{describe_outputs(expected[-1])}: give the {{task}} the "
                            "checkpoint was trained for, or a checkpoint trained for this task")
        if found != expected:
            raise UserError(f"layer {layer.name} weight {index} ({variable.name}) has shape "
                            f"{expected} in the model but {found} in the checkpoint; {_CHECK}")
        fitted.append(array)
    return fitted
