"""A task the user defines in the `--TASK_CONFIG_PATH` file: any CSV, TSV or JSON Lines data
for text classification or regression (see docs/own-data.md).

An entry is checked whole before anything runs: an unknown key, a wrong type or an unknown
metric is one UserError naming the configuration file, the task and the key.
"""

import os

from data.readers import FORMATS, DataSource, file_format, iter_label_values
from data.task_row import MIN_SEQ_LEN, Task
from errors import UserError

# The keys that make a configuration file's entry a task of its own,
# rather than a built-in task's seq_len.
SOURCE_KEYS = ("train", "dev", "test", "text", "text_pair", "label", "header", "labels",
               "regression", "metric")
# Hyperparameter keys, by the Task field each sets.
_DEFAULTS = {"lr_bert": "lr_bert", "lr_soft_extract": "lr_soft_extract", "lambda": "lambda_",
             "batch_size": "batch_size", "epochs": "epochs"}
KEYS = SOURCE_KEYS + ("seq_len",) + tuple(_DEFAULTS)
CLASSIFICATION_METRICS = ("accuracy", "f1", "macro_f1", "mcc")
REGRESSION_METRICS = ("pearson", "spearman")
# A user task's hyperparameters where the entry gives none: the middle of the original's
# GLUE rows (MRPC's learning rate is the high one); BATCH_SIZE 32 fits a 16 GB GPU at 128.
USER_DEFAULTS = {"lr_bert": 3e-5, "lr_soft_extract": 1e-3, "lambda_": 1e-3, "batch_size": 32,
                 "epochs": 3}


def user_task(name, entry, config_path, data_dir=None):
    """Builds the `Task` that a configuration file's entry defines.

    Args:
        name: the task's name, the `--TASK` value (lower case).
        entry: the entry, a parsed JSON value.
        config_path: the configuration file, for messages.
        data_dir: DATA_DIR, where train's labels are read when the entry gives no "labels";
            None where there is none (then the entry must give them).

    Returns:
        The `Task`, with its `source`.

    Raises:
        UserError: an entry that is not an object, an unknown key, a value of the wrong kind,
            an unknown metric or one that does not fit the labels, labels left to a train
            file that is not there.
    """
    where = f"{{task_config}} {config_path}: the entry for {name!r}"
    if not isinstance(entry, dict):
        raise UserError(f"{where} must be a JSON object like "
                        '{"train": "train.csv", "text": "sentence", "label": "label", ...}')
    unknown = [key for key in entry if key not in KEYS]
    if unknown:
        raise UserError(f"{where} has the unknown key {unknown[0]!r}; the keys are "
                        f"{', '.join(KEYS)}")
    get = _Getter(entry, where)
    header = get("header", bool, default=True)
    column = str if header else int
    get("train", str, required=True)
    files = tuple((split, get(split, str)) for split in ("train", "dev", "test")
                  if split in entry)
    for split, file in files:
        if file_format(file) is None:
            raise UserError(f'{where}: "{split}" is {file!r}, whose extension is none of '
                            f"{', '.join(FORMATS)}; name a CSV, TSV or JSON Lines file")
        if not header and file_format(file) == "jsonl":
            raise UserError(f'{where}: "header": false is for CSV and TSV files, but {file} is '
                            "JSON Lines, whose columns are its keys; drop \"header\"")
    source = DataSource(files, get("text", column, required=True),
                        get("text_pair", column), get("label", column, required=True), header)
    regression = get("regression", bool, default=False)
    labels = get("labels", list)
    if regression and labels is not None:
        raise UserError(f'{where} gives "labels" and "regression": true; a regression has no '
                        "classes: drop one of them")
    metric = get("metric", str, default="pearson" if regression else "accuracy")
    allowed = REGRESSION_METRICS if regression else CLASSIFICATION_METRICS
    if metric not in allowed:
        kind = "a regression" if regression else "a classification"
        raise UserError(f'{where}: "metric" {metric!r} is not one for {kind}; use one of '
                        f"{', '.join(allowed)}")
    if not regression:
        labels = _labels(labels, where) if labels is not None else \
            _train_labels(source, data_dir, where)
        if len(labels) < 2:
            raise UserError(f"{where}: only the label {labels[0]!r}; a classifier needs at "
                            'least two labels in "labels" (or in train)')
        if metric == "f1" and len(labels) != 2:
            raise UserError(f'{where}: "metric" f1 is binary, but there are {len(labels)} '
                            "labels; use macro_f1 for more than two")
    seq_len = get("seq_len", int, required=True)
    if seq_len < MIN_SEQ_LEN:
        raise UserError(f'{where}: "seq_len" is {seq_len}; it must be at least {MIN_SEQ_LEN}')
    hyper = {field: get(key, (int, float), default=USER_DEFAULTS[field])
             for key, field in _DEFAULTS.items()}
    for key in ("batch_size", "epochs"):
        if not isinstance(hyper[key], int) or hyper[key] < 1:
            raise UserError(f'{where}: "{key}" is {hyper[key]}; give a whole number of at '
                            "least 1")
    return Task(name, seq_len, () if regression else tuple(labels), metric, None, **hyper,
                source=source)


def definition(task):
    """The entry that defines a user task, labels spelled out: what a model file records.

    Args:
        task: a `Task` with a `source`.
    """
    source = task.source
    entry = {**dict(source.files), "text": source.text, "label": source.label,
             "header": source.header, "metric": task.metric, "seq_len": task.seq_len,
             **({"regression": True} if task.is_regression else {"labels": list(task.labels)}),
             **{key: getattr(task, field) for key, field in _DEFAULTS.items()}}
    if source.text_pair is not None:
        entry["text_pair"] = source.text_pair
    return entry


class _Getter:
    """Reads an entry's values, each checked for its kind."""

    def __init__(self, entry, where):
        self.entry, self.where = entry, where

    def __call__(self, key, kind, required=False, default=None):
        if key not in self.entry:
            if required:
                raise UserError(f'{self.where} has no "{key}"; add it (see docs/own-data.md)')
            return default
        value = self.entry[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # JSON's true is a Python int too; only a "header" or "regression" may be one.
        if isinstance(value, bool) != (bool in kinds) or not isinstance(value, kinds) or \
                (isinstance(value, (int, float)) and value < 0) or value == "":
            expected = {str: "a non-empty string", int: "a whole number from 0 (the column's "
                        "position; with a header, give its name)", bool: "true or false",
                        list: "a list", (int, float): "a positive number"}[kind]
            raise UserError(f'{self.where}: "{key}" is {value!r}; it must be {expected}')
        return value


def _labels(values, where):
    labels = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
            raise UserError(f'{where}: the label {value!r} in "labels" is not a string; give '
                            "the labels as the files spell them")
        labels.append(str(value).strip())
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise UserError(f'{where}: "labels" has {repeated[0]!r} twice; give each label once')
    return labels


def _train_labels(source, data_dir, where):
    """Train's label values, sorted: the class ids of a task whose entry gives no "labels"."""
    path = None if data_dir is None else os.path.join(data_dir, source.file("train"))
    if path is None or not os.path.exists(path) or os.path.isdir(path):
        raise UserError(f'{where} gives no "labels", so they are train\'s values, but there is '
                        f'no {path or source.file("train")} to read them from; add "labels": '
                        "[...] in class-id order")
    return sorted(set(iter_label_values(source, path)))
