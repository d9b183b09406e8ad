"""Readers of a user-defined task's files: CSV, TSV or JSON Lines, chosen by the extension.

Rows are read lazily, one at a time, so that a file of any size can be streamed through
prediction. Every problem in a row is one UserError naming the file, the line and the column.

- CSV: Python's `csv` dialect (comma-separated, fields quoted with `"` where they hold a
  comma, a quote or a line break; a quoted field may span lines).
- TSV: tab-separated without quoting, as GLUE's files and the IANA text/tab-separated-values
  type have it: a quote is text, and a text cannot hold a tab or a line break.
- JSON Lines (.jsonl, .json): one JSON object per line; columns are its keys.
"""

import csv
import dataclasses
import json
import math
import os

from data.examples import DEV_SHARE, Example, ExampleList, held_out
from errors import UserError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Where a user-defined task's data is: its files in DATA_DIR and their columns.

    Args:
        files: {"train"|"dev"|"test": file name}; a split may be absent (no dev: part of
            train is held out; no test: the task cannot predict).
        text: the column of the (first) text: a name, or a number from 0 without a header.
        text_pair: the column of the second text of a pair task; None for single texts.
        label: the column of the label (or the score of a regression).
        header: whether CSV and TSV files start with a row of column names.
    """

    files: tuple[tuple[str, str], ...]
    text: str | int
    text_pair: str | int | None
    label: str | int
    header: bool = True

    def file(self, split):
        """The file name of `split`, or None if the entry names none."""
        return dict(self.files).get(split)


def file_format(name):
    """"csv", "tsv" or "jsonl" for a file name by its extension; None for another one."""
    return FORMATS.get(os.path.splitext(name)[1].lower())


def read_user_split(task, data_dir, split):
    """Reads one split of a user task, whole; Args, result and errors as
    `data.glue.read_examples`'s. Without a dev file, dev is `DEV_SHARE` of train's rows
    (at least one), and train the rest; the list's `note` says so."""
    if split == "test" or task.source.file("dev") is not None:
        path, rows = stream_examples(task, data_dir, split)
        examples = ExampleList(path)
        examples.extend(rows)
        return examples
    path, rows = stream_examples(task, data_dir, "train")
    rows = list(rows)
    if len(rows) < 2:
        raise UserError(f"{path} holds {len(rows)} row(s); with no \"dev\" file in the task "
                        "entry, train needs at least 2 rows to hold some out")
    is_dev = held_out(len(rows))
    held = int(is_dev.sum())
    examples = ExampleList(path)
    examples.extend(row for row, dev in zip(rows, is_dev) if dev == (split == "dev"))
    examples.note = (f"no \"dev\" file in the entry for {task.name}: {held} of the {len(rows)} "
                     f"rows of {path} ({100 * DEV_SHARE:g}%, always the same) are held out of "
                     f"training as dev, {len(rows) - held} left to train on")
    return examples


def stream_examples(task, data_dir, split):
    """Finds a user task's file of `split`; its examples come one at a time, as read.

    Args:
        task: a `Task` with a `source`.
        data_dir: DATA_DIR.
        split: "train", "dev" or "test"; its file must be named in the entry.

    Returns:
        (the file's path, a generator of `Example`s with guid "<split>-<line number>"),
        which raises as `iter_labelled_rows` does, and at its end if there was no row.

    Raises:
        UserError: the entry names no file for `split`, or DATA_DIR does not have it.
    """
    name = task.source.file(split)
    if name is None:
        raise UserError(f"the {{task_config}} entry for {task.name} names no \"{split}\" file; "
                        f'add "{split}": "<file name in {{data_dir}}>" to it')
    path = os.path.join(data_dir, name)
    # A named pipe is a file too: it is read once, as a stream.
    if not os.path.exists(path) or os.path.isdir(path):
        raise UserError(f"{{data_dir}} {data_dir} has no file {name}, which the "
                        f"{{task_config}} entry for {task.name} names as \"{split}\"; put it "
                        "there or fix the entry")

    def examples():
        count = 0
        for line, text_a, text_b, label in iter_labelled_rows(task, path, split):
            count += 1
            yield Example(f"{split}-{line}", text_a, text_b, label)
        if not count:
            raise UserError(f"{path} holds no {task.name} examples; give a non-empty "
                            f"{split} file")

    return path, examples()


def iter_labelled_rows(task, path, split):
    """Yields (line number, text_a, text_b, label) of each row of a user task's file.

    Args:
        task: a `Task` with a `source`.
        path: the file.
        split: "train", "dev" or "test"; a test file may lack the label column, and then
            every label is None.

    Raises:
        UserError: a missing column, a row with too few or too many fields, an empty text,
            a label outside the task's labels, a score that is not a number, a JSON line that
            is not an object, a byte sequence that is not UTF-8; each names file, line, column.
    """
    source = task.source
    rows = _rows(path, source)
    columns = next(rows)
    label_optional = split == "test"
    for line, row in rows:
        text_a = _text(row, columns, source.text, path, line)
        text_b = None if source.text_pair is None else \
            _text(row, columns, source.text_pair, path, line)
        raw = _cell(row, columns, source.label, path, line, optional=label_optional)
        yield line, text_a, text_b, None if raw is None else _label(task, raw, path, line,
                                                                    source.label)


def iter_label_values(source, path):
    """Yields each row's label as text (stripped), for a task whose labels the entry leaves
    to train's values; Args as `iter_labelled_rows`'s."""
    rows = _rows(path, source)
    columns = next(rows)
    for line, row in rows:
        value = _cell(row, columns, source.label, path, line)
        text = value.strip() if isinstance(value, str) else json.dumps(value)
        if not text:
            raise UserError(f"{path}, line {line}, column {source.label!r}: an empty label; "
                            "fill it in or remove the row")
        yield text


def _rows(path, source):
    """First yields the column map ({column: index} for CSV/TSV, None for JSON Lines), then
    (line number, row) per row: a list of fields, or a JSON object."""
    fmt = file_format(path)
    with open(path, encoding="utf-8-sig", newline="") as file:
        try:
            if fmt == "jsonl":
                yield None
                yield from _json_rows(file, path)
            else:
                yield from _delimited_rows(file, path, fmt, source)
        except UnicodeDecodeError as error:
            raise UserError(f"{path}: bytes that are not UTF-8 ({error.reason}) after the last "
                            "row read; save the file as UTF-8") from None


def _json_rows(file, path):
    for line, text in enumerate(file, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except ValueError as error:
            raise UserError(f"{path}, line {line}: not valid JSON ({error}); each line must be "
                            "one JSON object") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}, line {line}: a JSON {type(row).__name__}, not an object; "
                            'each line must be one JSON object like {"text": ..., "label": ...}')
        yield line, row


def _delimited_rows(file, path, fmt, source):
    options = {"delimiter": ",", "strict": True} if fmt == "csv" else \
        {"delimiter": "\t", "quoting": csv.QUOTE_NONE}
    # A long document is text, not a fault: no limit below what a C long holds (csv's
    # default of 131,072 characters per field would stop a book review).
    csv.field_size_limit(2**31 - 1)
    reader = csv.reader(file, **options)
    width = columns = None
    # Blank lines are kept back until a row shows they are not the end of the file.
    blank_line = None
    line = 1
    try:
        for fields in reader:
            if not any(field.strip() for field in fields):
                blank_line = blank_line or line
            elif blank_line is not None:
                raise UserError(f"{path}, line {blank_line}: a blank line inside the file; "
                                "remove it")
            elif columns is None:
                columns, width = _column_map(fields, source)
                yield columns
                if not source.header:
                    yield line, _fitted(fields, width, path, line, fmt)
            else:
                yield line, _fitted(fields, width, path, line, fmt)
            line = reader.line_num + 1
    except csv.Error as error:
        raise UserError(f"{path}, line {line}: {error}; fix the row's quoting") from None
    if columns is None:
        raise UserError(f"{path} holds no rows; give a file with a row per example")


def _column_map(first, source):
    """({column: index}, the number of fields every row has), from the first row."""
    if not source.header:
        return {}, len(first)
    names = [name.strip() for name in first]
    return {name: i for i, name in enumerate(names)}, len(names)


def _fitted(fields, width, path, line, fmt):
    if len(fields) != width:
        fewer = "few" if len(fields) < width else "many"
        separated = "comma" if fmt == "csv" else "tab"
        raise UserError(f"{path}, line {line}: {len(fields)} {separated}-separated fields, too "
                        f"{fewer}: the file's first row has {width}; fix or remove the row")
    return fields


def _cell(row, columns, column, path, line, optional=False):
    """The value of `column` in a row; None where it is `optional` and absent."""
    if isinstance(row, dict):
        if column in row:
            return row[column]
    elif columns and column in columns:
        return row[columns[column]]
    elif not columns and isinstance(column, int) and column < len(row):
        return row[column]
    if optional:
        return None
    where = f"{path}, line 1 (the header)" if columns else f"{path}, line {line}"
    raise UserError(f"{where}: no column {column!r}; name a column the file has in the task "
                    "entry")


def _text(row, columns, column, path, line):
    value = _cell(row, columns, column, path, line)
    if not isinstance(value, str):
        raise UserError(f"{path}, line {line}, column {column!r}: {json.dumps(value)} is not a "
                        "text; give a string")
    if not value.strip():
        raise UserError(f"{path}, line {line}, column {column!r}: an empty text; fill it in or "
                        "remove the row")
    return value


def _label(task, value, path, line, column):
    """A row's label: a string of the task's labels, or the float score of a regression."""
    where = f"{path}, line {line}, column {column!r}"
    if task.is_regression:
        try:
            score = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            score = math.nan
        if isinstance(value, bool) or not math.isfinite(score):
            raise UserError(f"{where}: the score {value!r} is not a number; scores are numbers "
                            "like 3.8")
        return score
    text = value.strip() if isinstance(value, str) else json.dumps(value)
    if text not in task.labels:
        raise UserError(f"{where}: label {text!r} is not one of the {task.name} labels "
                        f"({', '.join(task.labels)}), which train has; fix the row, or add it "
                        'to the entry\'s "labels"')
    return text
