"""What a model file records about its training, read once, and the run settings that follow.

An `.hdf5` file that this project wrote records the task it was trained for and how it runs
(`checkpoints.hdf5.model_record`); a flag given wins over the record, and a model file without
one (the original's `.hdf5` files, Google checkpoints) runs with the defaults noted below.
"""

import dataclasses

from checkpoints.hdf5 import read_hdf5_metadata
from data.tasks import TASKS, describe_outputs
from errors import UserError
from extract_layers import ABSOLUTE, RELATIVE, RETENTION_MODES, are_shares

PADDING_EFFECTS = {
    "batch": "each batch padded to its longest input, only real words vote in the "
             "significance score",
    "seq_len": "every input padded to seq_len, padding votes in the significance score "
               "(the original)"}


@dataclasses.dataclass(frozen=True)
class ModelRecord:
    """The `power_bert` record of a model file; made by `ModelRecord.read`.

    Attributes:
        path: the model file: `--CHECKPOINT_PATH`.
        ours: the file is an `.hdf5` file that this project wrote, with its record.
        original: the file is an `.hdf5` file without a record: the original PoWER-BERT's (or
            ours from before the record).
        task: the name of the task it was trained for, or None.
        padding: the `--PADDING` it was trained with, or None.
        retention_mode: "absolute" or "relative", or None where not recorded.
        retention_configuration: the configuration it runs at, as recorded, or None (plain
            BERT, or not recorded).
        task_definition: the entry of a task of the user's own data it was trained for,
            labels spelled out (`data.user_tasks.definition`), or None for a built-in task.
    """

    path: str
    ours: bool = False
    original: bool = False
    task: str | None = None
    padding: str | None = None
    retention_mode: str | None = None
    retention_configuration: list | None = None
    task_definition: dict | None = None

    @classmethod
    def read(cls, path, model_format):
        """The record of `path`, a checkpoint of `model_format` ("CKPT" or "HDF5")."""
        if model_format != "HDF5":
            return cls(path)
        record = read_hdf5_metadata(path)
        if record is None:
            return cls(path, original=True)
        return cls(path, ours=bool(record), task=record.get("task"),
                   padding=record.get("padding"), retention_mode=record.get("retention_mode"),
                   retention_configuration=record.get("retention_configuration"),
                   task_definition=record.get("task_definition"))

    def check_task(self, task):
        """A model of ours runs only for a task of as many classes as it was trained for (the
        classifier's shape would not fit; see `assign_weights` for other checkpoints), and one
        trained for a task of the user's own data only for the same labels in the same order
        (its class ids would mean other classes).

        Args:
            task: the `Task` of `--TASK`.
        """
        if isinstance(self.task_definition, dict):
            labels = tuple(self.task_definition.get("labels") or ())
            if task.source is not None and task.labels != labels:
                trained, given = (", ".join(names) or "(a regression)"
                                  for names in (labels, task.labels))
                raise UserError(f"{self.path} was trained for {self.task} with labels {trained} "
                                f"in this order, but {{task}} {task.name} has {given}: give the "
                                'trained labels as the entry\'s "labels", or a model trained '
                                f"for {task.name}")
            outputs = len(labels) or 1
        elif self.task in TASKS:
            outputs = TASKS[self.task].num_labels
        else:
            return
        if outputs != task.num_labels:
            raise UserError(f"{self.path} was trained for {self.task} with "
                            f"{describe_outputs(outputs)}, but {{task}} {task.name} has "
                            f"{describe_outputs(task.num_labels)}: give {{task}} {self.task} (or "
                            f"another task of {describe_outputs(outputs)}), or a model trained "
                            f"for {task.name}")

    def padding_for(self, flag, relative=False):
        """The padding to run the model with (see `--PADDING`), and a note saying why.

        The flag wins. Files that this project wrote record the padding they were trained
        with; an `.hdf5` file without that record is the original's (or ours from before the
        record), trained with every input padded to seq_len and padding voting, so it runs
        that way. Anything else, and relative retention (shares of each input's real length),
        runs with batch padding.

        Args:
            flag: `--PADDING`, or None.
            relative: the run keeps shares of each input's length.

        Returns:
            ("batch" or "seq_len", a note for the log).
        """
        if flag is None and relative:
            padding, why = "batch", "what relative retention runs with"
        elif flag is None and self.original:
            padding, why = "seq_len", ("the original PoWER-BERT's, as this .hdf5 file was not "
                                       "written by this project")
        else:
            padding, why = _recorded_choice(flag, self.padding, PADDING_EFFECTS, "batch")
        return padding, f"PADDING {padding} ({why}): {PADDING_EFFECTS[padding]}"

    def retention_mode_for(self, flag, retention=None):
        """`--RETENTION_MODE`; else relative if `--RETENTION_CONFIG` is written as shares; else
        what the record says, else absolute; and a note.

        Args:
            flag: `--RETENTION_MODE`, or None.
            retention: `--RETENTION_CONFIG`, or None.

        Returns:
            ("absolute" or "relative", a note for the log).
        """
        if flag is None and retention is not None and are_shares(retention):
            return RELATIVE, ("RETENTION_MODE relative (RETENTION_CONFIG holds shares of each "
                              "input's length)")
        mode, why = _recorded_choice(flag, self.retention_mode, RETENTION_MODES, ABSOLUTE)
        return mode, f"RETENTION_MODE {mode} ({why})"

    def retention_for(self, flag, num_layers, seq_len, retention):
        """The retention configuration to run the model at, and a note saying where it came from.

        `--RETENTION_CONFIG` wins; without it, a model of ours runs at the configuration it
        records (if recorded for the same retention mode); any other checkpoint (the
        original's files, Google checkpoints) runs as plain BERT, every block keeping all
        word vectors.

        Args:
            flag: `--RETENTION_CONFIG`, or None.
            num_layers: the model's blocks.
            seq_len: the task's sequence length.
            retention: the run's `RetentionConfiguration`, its mode and padding resolved,
                without values.

        Returns:
            (`retention` with its num_layers values, a note for the log or None).

        Raises:
            UserError: the flag is invalid, or the recorded configuration does not fit the model.
        """
        recorded, other_mode = self.retention_configuration, None
        if recorded is not None and (self.retention_mode or ABSOLUTE) != retention.mode:
            recorded, other_mode = None, self.retention_mode or ABSOLUTE
        elif recorded is None and self.retention_mode not in (None, retention.mode):
            other_mode = self.retention_mode
        if flag is not None:
            retention = retention.parse(flag, num_layers, seq_len)
            if recorded is not None and recorded != list(retention.values):
                return retention, (f"RETENTION_CONFIG {retention} given: it replaces {recorded}, "
                                   f"which {self.path} records")
            return retention, None
        if recorded is None:
            if other_mode is not None:
                what = f"records a {other_mode} one, not a {retention.mode} one"
            elif not self.ours:
                what = "records no configuration"
            else:
                what = "records plain BERT"
            return retention.keeping_all(num_layers, seq_len), (
                f"RETENTION_CONFIG not given and {self.path} {what}: keeping all word "
                "vectors in every block (plain BERT)")
        try:
            retention = retention.parse_recorded(recorded, num_layers, seq_len)
        except UserError:
            raise UserError(f"{self.path} records the retention configuration {recorded}, which "
                            f"does not fit a model of {num_layers} blocks at seq_len {seq_len}; "
                            "give the {bert_config} and {task_config} it was trained with, or "
                            "{retention}") from None
        return retention, (f"RETENTION_CONFIG not given: using {retention}, which {self.path} "
                           "records")


def _recorded_choice(flag, recorded, choices, default):
    """(value, why): the flag if given, else the recorded value if it is one of `choices`,
    else `default`."""
    if flag is not None:
        return flag, "given"
    if recorded in choices:
        return recorded, "what this .hdf5 file was trained with"
    return default, "the default"
