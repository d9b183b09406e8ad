"""Loading a checkpoint into a model, whatever its format: CKPT (Google's) or HDF5 (Keras's)."""

import glob
import os
import re

import h5py

from checkpoints.assign import assign_weights
from checkpoints.google import read_google_checkpoint
from checkpoints.hdf5 import read_hdf5_weights
from errors import UserError

FORMATS = ("CKPT", "HDF5")


def guess_format(path):
    """HDF5 for a `.hdf5`/`.h5` file, else CKPT (a Google checkpoint prefix)."""
    return "HDF5" if os.path.splitext(path)[1].lower() in (".hdf5", ".h5") else "CKPT"


def check_checkpoint_path(path, model_format):
    """The checkpoint is there and really is `model_format` (its contents are checked on loading).

    Args:
        path: the checkpoint: a TensorFlow checkpoint prefix, or an .hdf5 file.
        model_format: "CKPT" or "HDF5".
    """
    is_hdf5 = os.path.isfile(path) and h5py.is_hdf5(path)
    if model_format == "HDF5":
        if not os.path.isfile(path):
            raise UserError(f"{{checkpoint}} {path} is not a file; give the .hdf5 file")
        if not is_hdf5:
            raise UserError(f"{{checkpoint}} {path} is not an HDF5 file; give a Keras .hdf5 file, "
                            "or {model_format} CKPT for a TensorFlow checkpoint")
        return
    if is_hdf5:
        raise UserError(f"{{checkpoint}} {path} is an HDF5 file, not a TensorFlow checkpoint; "
                        "add {model_format} HDF5")
    if not os.path.isfile(path + ".index"):
        # Common slips: naming the checkpoint's folder, or one of its files, not its prefix.
        if os.path.isdir(path):
            found = sorted(glob.glob(os.path.join(glob.escape(path), "*.index")))
        else:
            found = [re.sub(r"\.(index|meta|data-\d+-of-\d+)$", "", path) + ".index"]
        found = [name for name in found if os.path.isfile(name)]
        example = found[0][:-len(".index")] if found else "$BERT_BASE_DIR/bert_model.ckpt"
        raise UserError(f"{{checkpoint}} {path} is not a TensorFlow checkpoint prefix: "
                        f"{path}.index does not exist; give the prefix, e.g. {example}")


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


def load_classifier(model, path, model_format, config, seq_len, use):
    """`load_weights` for a model that needs its classifier: a fine-tuned checkpoint or
    retrained.hdf5, never a pre-trained one.

    Args:
        model, path, model_format, config, seq_len: as for `load_weights`.
        use: what the caller does with the model ("evaluate", "export"), for the error.

    Raises:
        UserError: the checkpoint has no classifier (output_weights/NSP).
    """
    if load_weights(model, path, model_format, config, seq_len, optional=("NSP",)):
        raise UserError(f"the checkpoint {path} has no classifier (output_weights/NSP): {use} "
                        "a fine-tuned checkpoint or retrained.hdf5")
