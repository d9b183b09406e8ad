"""Loading `--CHECKPOINT_PATH` into a model, whatever its `--MODEL_FORMAT`."""

import os

from checkpoints.assign import assign_weights
from checkpoints.google import read_google_checkpoint
from checkpoints.hdf5 import read_hdf5_weights

FORMATS = ("CKPT", "HDF5")


def guess_format(path):
    """HDF5 for a `.hdf5`/`.h5` file, else CKPT (a Google checkpoint prefix)."""
    return "HDF5" if os.path.splitext(path)[1].lower() in (".hdf5", ".h5") else "CKPT"


def load_weights(model, path, model_format, config, seq_len, optional=()):
    """Sets the model's weights from a Google checkpoint or an `.hdf5` file, by layer name.

    Args:
        model: a model from `modeling.bert.build_model`.
        path: `--CHECKPOINT_PATH`.
        model_format: "CKPT" or "HDF5".
        config: the `BertConfig` the model was built from.
        seq_len: the task's sequence length.
        optional: layers the file may lack (they keep their initial values).

    Returns:
        The names of the weighted layers left at their initial values.
    """
    if model_format == "HDF5":
        weights = read_hdf5_weights(path)
    else:
        weights = read_google_checkpoint(path, config.num_hidden_layers, seq_len,
                                         albert=config.is_albert)
    return assign_weights(model, weights, optional)
