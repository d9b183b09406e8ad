"""The original PoWER-BERT's `.hdf5` weight files (Keras 2.3.1 layout), read and written by layer
name.

Layout: a whole-model file keeps the weights in group `model_weights` (a `save_weights` file
at the root). That group's attr `layer_names` lists every layer; each layer's group has attr
`weight_names` (e.g. b"NSP/kernel:0"), and the arrays are datasets at `<layer>/<weight name>`.
Keras 2 splits an attr over 64 KiB into `name0`, `name1`, ...

Files this project writes also carry the root attr `power_bert`: a JSON object of what
decides how the model runs. Its presence is the project's marker: a file without it was
written by the original PoWER-BERT (or another Keras 2 program).
"""

import contextlib
import json
from pathlib import Path

import h5py
import keras
import numpy as np

from atomic_files import replaced_atomically
from data.user_tasks import definition
from errors import UserError

METADATA_ATTR = "power_bert"
# What to do about a model file given as a checkpoint that is missing, not HDF5 or damaged.
CHECKPOINT_FIX = ("give a whole Keras .hdf5 model or weights file as {checkpoint} with "
                  "{model_format} HDF5 (save or copy it again), or {model_format} CKPT for a "
                  "TensorFlow checkpoint")


@contextlib.contextmanager
def opened_hdf5(path, fix=CHECKPOINT_FIX):
    """An `.hdf5` file open for reading, its damage turned into one UserError naming it.

    h5py reports a damaged file (truncated by a full disk or an interrupted copy, a record
    edited by hand) as OSError, RuntimeError or ValueError, when it opens the file or later
    when a dataset or attribute is read: the whole block is covered, so that every read of a
    model file, its `power_bert` record included, ends in the same one line.

    Args:
        path: the file.
        fix: what to do about a missing, foreign or damaged file, the end of the message
            (fields of errors.INPUTS allowed).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no file {path}: {fix}")
    if not h5py.is_hdf5(path):
        raise UserError(f"{path} is not an HDF5 file: {fix}")
    try:
        with h5py.File(path, "r") as file:
            yield file
    except (OSError, RuntimeError, ValueError) as error:
        reason = " ".join(str(error).split())
        raise UserError(f"{path} is damaged ({reason}): {fix}") from None


def _names(group: h5py.Group, attr: str) -> list[str] | None:
    """Reads a list-of-names attribute, joining Keras 2's chunks; None if absent.

    Args:
        group: the HDF5 group holding the attribute.
        attr: the attribute name, "layer_names" or "weight_names".
    """
    if attr in group.attrs:
        values = list(group.attrs[attr])
    elif f"{attr}0" in group.attrs:
        values, chunk = [], 0
        while f"{attr}{chunk}" in group.attrs:
            values += list(group.attrs[f"{attr}{chunk}"])
            chunk += 1
    else:
        return None
    return [value.decode("utf8") if isinstance(value, bytes) else str(value) for value in values]


def read_hdf5_weights(path, fix=CHECKPOINT_FIX) -> dict[str, list[np.ndarray]]:
    """Reads a Keras `.hdf5` weight file (whole model or save_weights) by layer name.

    Args:
        path: the `.hdf5` file.
        fix: what to do about a missing or damaged file, as `opened_hdf5` takes it.

    Returns:
        {layer name: its arrays in weight_names order}, for the layers that have weights.
    """
    path = Path(path)
    with opened_hdf5(path, fix) as file:
        root = file["model_weights"] if "model_weights" in file else file
        layer_names = _names(root, "layer_names")
        if layer_names is None:
            raise UserError(f"{path} has no layer_names attribute, so it holds no Keras weights: "
                            f"{fix}")
        weights = {}
        for layer in layer_names:
            if layer not in root or _names(root[layer], "weight_names") is None:
                raise UserError(f"{path} lists layer {layer} but has no weights group for it; "
                                f"the file is damaged: {fix}")
            names = _names(root[layer], "weight_names")
            missing = [name for name in names if name not in root[layer]]
            if missing:
                raise UserError(f"{path}: layer {layer} lacks weight {missing[0]}; the file is "
                                f"damaged: {fix}")
            if names:
                weights[layer] = [np.asarray(root[layer][name]) for name in names]
    return weights


def _weight_names(layer: keras.layers.Layer) -> list[str]:
    """Keras 2 style names `<layer>/<variable>:0`, made unique within the layer.

    Args:
        layer: a Keras 3 layer.
    """
    names = []
    for variable in layer.weights:
        name, suffix = f"{layer.name}/{variable.name}", 1
        # Sub-layers can repeat a short name ("kernel"); each needs its own dataset.
        while f"{name}:0" in names:
            name, suffix = f"{layer.name}/{variable.name}_{suffix}", suffix + 1
        names.append(f"{name}:0")
    return names


def model_record(task, retention, distillation=None) -> dict:
    """The `power_bert` record of a model trained for `task`: what decides how it runs, and
    how it was trained.

    Args:
        task: the `data.tasks.Task` (its name and seq_len are recorded; for a user task also
            its entry, labels spelled out, as "task_definition": the file alone says what its
            classes are).
        retention: the `RetentionConfiguration` the model runs with: its numbers (None for
            plain BERT), mode and the `--PADDING` it was trained with (`record`).
        distillation: {"alpha": ALPHA, "temperature": T} if it learnt from the fine-tuned
            BERT (`--DISTILL`), else None.
    """
    return {"task": task.name, "seq_len": task.seq_len,
            **({"task_definition": definition(task)} if task.source is not None else {}),
            **retention.record(), "distillation": distillation}


def read_hdf5_metadata(path, fix=CHECKPOINT_FIX) -> dict | None:
    """The `power_bert` record of a file this project wrote; None for any other `.hdf5` file.

    Args:
        path: the `.hdf5` file.
        fix: what to do about a missing or damaged file, as `opened_hdf5` takes it.
    """
    with opened_hdf5(path, fix) as file:
        if METADATA_ATTR not in file.attrs:
            return None
        try:
            record = json.loads(file.attrs[METADATA_ATTR])
        except (TypeError, ValueError):
            record = None
        if not isinstance(record, dict):
            # Reported by `opened_hdf5`, as any other damage.
            raise ValueError(f"its {METADATA_ATTR} attribute is not a JSON object")
    return record


def write_hdf5_weights(path, model: keras.Model, metadata: dict | None = None) -> None:
    """Writes a Keras 3 model's weights in the Keras 2.3.1 whole-model layout, atomically.

    Args:
        path: the `.hdf5` file to write; replaced only once fully written.
        model: the model; every layer is listed, layers without weights with no weight names.
        metadata: JSON-able facts on how the model runs, stored as the `power_bert` attr
            (which also marks the file as this project's).
    """
    with replaced_atomically(path) as temp, h5py.File(temp, "w") as file:
        file.attrs[METADATA_ATTR] = json.dumps(metadata or {}, sort_keys=True)
        file.attrs["keras_version"] = keras.__version__.encode("utf8")
        file.attrs["backend"] = keras.backend.backend().encode("utf8")
        group = file.create_group("model_weights")
        group.attrs["layer_names"] = np.array([layer.name.encode("utf8") for layer in model.layers])
        for layer in model.layers:
            layer_group = group.create_group(layer.name)
            names = _weight_names(layer)
            layer_group.attrs["weight_names"] = np.array([name.encode("utf8") for name in names])
            for name, array in zip(names, layer.get_weights()):
                layer_group.create_dataset(name, data=array)
