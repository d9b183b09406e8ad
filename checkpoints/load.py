"""Loading a checkpoint into a model, whatever its format: CKPT (Google's) or HDF5 (Keras's)."""

import glob
import os
import re

import h5py

from checkpoints.assign import assign_weights
from checkpoints.google import read_google_checkpoint
from checkpoints.hdf5 import read_hdf5_metadata, read_hdf5_weights
from data.tasks import TASKS, describe_outputs
from errors import UserError
from extract_layers import are_shares, parse_configuration, parse_recorded_configuration

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


def _record(path, model_format):
    """The `power_bert` record of an `.hdf5` file of ours, None for another `.hdf5` file,
    {} for any other checkpoint."""
    return read_hdf5_metadata(path) if model_format == "HDF5" else {}


def check_task(task, path, model_format):
    """An `.hdf5` file of ours runs only for a task of as many classes as it was trained for
    (the classifier's shape would not fit; see `assign_weights` for other checkpoints), and
    one trained for a user-defined task only for the same labels in the same order (its
    class ids would mean other classes).

    Args:
        task: the `Task` of `--TASK`.
        path: `--CHECKPOINT_PATH`.
        model_format: "CKPT" or "HDF5".
    """
    record = _record(path, model_format) or {}
    defined = record.get("task_definition")
    if isinstance(defined, dict):
        labels = tuple(defined.get("labels") or ())
        if task.source is not None and task.labels != labels:
            trained, given = (", ".join(names) or "(a regression)"
                              for names in (labels, task.labels))
            raise UserError(f"{path} was trained for {record.get('task')} with labels "
                            f"{trained} in this order, but {{task}} {task.name} has {given}: "
                            'give the trained labels as the entry\'s "labels", or a model '
                            f"trained for {task.name}")
        outputs = len(labels) or 1
    elif record.get("task") in TASKS:
        outputs = TASKS[record["task"]].num_labels
    else:
        return
    if outputs != task.num_labels:
        name = record["task"]
        raise UserError(f"{path} was trained for {name} with {describe_outputs(outputs)}, but "
                        f"{{task}} {task.name} has {describe_outputs(task.num_labels)}: give "
                        f"{{task}} {name} (or another task of {describe_outputs(outputs)}), or a "
                        f"model trained for {task.name}")


def _recorded_choice(flag, record, key, choices, default):
    """(value, why): the flag if given, else the record's `key` if it is one of `choices`,
    else `default`."""
    if flag is not None:
        return flag, "given"
    if record and record.get(key) in choices:
        return record[key], "what this .hdf5 file was trained with"
    return default, "the default"


PADDING_EFFECTS = {
    "batch": "each batch padded to its longest input, only real words vote in the "
             "significance score",
    "seq_len": "every input padded to seq_len, padding votes in the significance score "
               "(the original)"}


def resolve_padding(flag, path, model_format, relative=False):
    """The padding to run a checkpoint with (see `--PADDING`), and a note saying why.

    The flag wins. Files that this project wrote record the padding they were trained with;
    an `.hdf5` file without that record is the original's (or ours from before the record),
    trained with every input padded to seq_len and padding voting, so it runs that way.
    Anything else, and relative retention (shares of each input's real length), runs with
    batch padding.

    Args:
        flag: `--PADDING`, or None.
        path: `--CHECKPOINT_PATH`.
        model_format: "CKPT" or "HDF5".
        relative: the run keeps shares of each input's length.

    Returns:
        ("batch" or "seq_len", a note for the log).
    """
    record = _record(path, model_format)
    if flag is None and relative:
        padding, why = "batch", "what relative retention runs with"
    elif flag is None and record is None:
        padding, why = "seq_len", ("the original PoWER-BERT's, as this .hdf5 file was not "
                                   "written by this project")
    else:
        padding, why = _recorded_choice(flag, record, "padding", PADDING_EFFECTS, "batch")
    return padding, f"PADDING {padding} ({why}): {PADDING_EFFECTS[padding]}"


def resolve_retention_mode(flag, path, model_format, retention=None):
    """`--RETENTION_MODE`; else relative if `--RETENTION_CONFIG` is written as shares; else what
    an `.hdf5` file of ours records, else absolute; and a note.

    Args:
        flag: `--RETENTION_MODE`, or None.
        path: `--CHECKPOINT_PATH`.
        model_format: "CKPT" or "HDF5".
        retention: `--RETENTION_CONFIG`, or None.

    Returns:
        ("absolute" or "relative", a note for the log).
    """
    if flag is None and retention is not None and are_shares(retention):
        return "relative", ("RETENTION_MODE relative (RETENTION_CONFIG holds shares of each "
                            "input's length)")
    mode, why = _recorded_choice(flag, _record(path, model_format), "retention_mode",
                                 ("absolute", "relative"), "absolute")
    return mode, f"RETENTION_MODE {mode} ({why})"


def resolve_retention(flag, path, model_format, num_layers, seq_len, relative=False):
    """The retention configuration to run a checkpoint with, and a note saying where it came from.

    `--RETENTION_CONFIG` wins; without it, an `.hdf5` file of ours runs at the configuration it
    records (if recorded for the same retention mode); any other checkpoint (the original's
    files, Google checkpoints) runs as plain BERT, every block keeping all word vectors.

    Args:
        flag: `--RETENTION_CONFIG`, or None.
        path: `--CHECKPOINT_PATH`.
        model_format: "CKPT" or "HDF5".
        num_layers: the model's blocks.
        seq_len: the task's sequence length.
        relative: the configuration holds shares of each input's length
            (`--RETENTION_MODE relative`).

    Returns:
        (list of num_layers ints, or of shares if `relative`; a note for the log or None).

    Raises:
        UserError: the flag is invalid, or the recorded configuration does not fit the model.
    """
    mode = "relative" if relative else "absolute"
    record = _record(path, model_format) or None
    recorded = None if record is None else record.get("retention_configuration")
    if recorded is not None and record.get("retention_mode", "absolute") != mode:
        recorded, record = None, {"retention_mode": record.get("retention_mode")}
    if flag is not None:
        retention = parse_configuration(flag, num_layers, seq_len, relative)
        if recorded is not None and recorded != retention:
            return retention, (f"RETENTION_CONFIG {retention} given: it replaces {recorded}, "
                               f"which {path} records")
        return retention, None
    if recorded is None:
        if record is None:
            what = "records no configuration"
        elif record.get("retention_mode", mode) != mode:
            what = f"records a {record['retention_mode']} one, not a {mode} one"
        else:
            what = "records plain BERT"
        full = [1.0 if relative else seq_len] * num_layers
        return full, (f"RETENTION_CONFIG not given and {path} {what}: keeping all word vectors "
                      "in every block (plain BERT)")
    try:
        retention = parse_recorded_configuration(recorded, num_layers, seq_len, relative)
    except UserError:
        raise UserError(f"{path} records the retention configuration {recorded}, which does not "
                        f"fit a model of {num_layers} blocks at seq_len {seq_len}; give the "
                        "{bert_config} and {task_config} it was trained with, or "
                        "{retention}") from None
    return retention, f"RETENTION_CONFIG not given: using {retention}, which {path} records"
