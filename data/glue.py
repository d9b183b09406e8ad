"""Readers of GLUE's own TSV files (train.tsv, dev.tsv, test.tsv of each task), and of IMDB's
in SST-2's layout; a user-defined task's files are read by data/readers.py."""

import dataclasses
import errno
import math
import os

from data.examples import SPLITS, Example, ExampleList
from data.readers import read_user_split
from errors import UserError
from text_files import read_text

# The script the original README points to; it writes one folder per task.
GLUE_DOWNLOAD = "https://gist.github.com/W4ngatang/60c2bdb54d156a41194446737ce03e2e"


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Where the fields of a row are: column indices (-1 = last), None where absent."""

    header: bool
    text_a: int
    text_b: int | None = None
    label: int | None = None
    guid: int | None = None

    @property
    def min_columns(self):
        columns = max(i for i in (self.text_a, self.text_b, self.label, self.guid)
                      if i is not None and i >= 0) + 1
        # A "last column" label must come after the text, not be the text itself.
        return columns + (self.label == -1)


# (train/dev layout, test layout) per GLUE format; see docs/SPEC.md §4.
_NLI_PAIR = (_Layout(True, 1, 2, label=3), _Layout(True, 1, 2, guid=0))
_MNLI = (_Layout(True, 8, 9, label=-1), _Layout(True, 8, 9, guid=0))
_SINGLE = (_Layout(True, 0, label=1), _Layout(True, 1, guid=0))
_LAYOUTS = {
    "cola": (_Layout(False, 3, label=1), _Layout(True, 1, guid=0)),
    "sst-2": _SINGLE,
    "imdb": _SINGLE,
    "mrpc": (_Layout(True, 3, 4, label=0), _Layout(True, 3, 4, guid=0)),
    "qqp": (_Layout(True, 3, 4, label=5), _Layout(True, 1, 2, guid=0)),
    "sts-b": (_Layout(True, 7, 8, label=9), _Layout(True, 7, 8, guid=0)),
    "mnli-m": _MNLI,
    "mnli-mm": _MNLI,
    "qnli": _NLI_PAIR,
    "rte": _NLI_PAIR,
}

# GLUE's own MNLI names come first; the original made users rename them to dev/test.tsv.
_MNLI_FILES = {
    "mnli-m": {"dev": ("dev_matched.tsv", "dev.tsv"), "test": ("test_matched.tsv", "test.tsv")},
    "mnli-mm": {"dev": ("dev_mismatched.tsv", "dev.tsv"),
                "test": ("test_mismatched.tsv", "test.tsv")},
}


def is_pair_task(task):
    """Whether the task's examples are sentence pairs (else single sentences).

    Args:
        task: a `Task`.
    """
    if task.source is not None:
        return task.source.text_pair is not None
    return _LAYOUTS[task.name][0].text_b is not None


def split_file_names(task, split):
    """The accepted file names of a split, preferred first.

    Args:
        task: a `Task`.
        split: "train", "dev" or "test".
    """
    return _MNLI_FILES.get(task.name, {}).get(split, (f"{split}.tsv",))


def read_examples(task, data_dir, split):
    """Reads one split of a task from DATA_DIR.

    Args:
        task: a `Task` (a user-defined one is read by `data.readers.read_user_split`).
        data_dir: the directory holding the task's GLUE files.
        split: "train", "dev" or "test" (test rows carry no label).

    Returns:
        An `ExampleList` (a list of `Example`, with `path` and `skipped_rows`).

    Raises:
        UserError: missing file, bytes that are not UTF-8, a row with too few or too many
            columns (a blank line inside the file is a row with too few), a label outside
            the task's set, an STS-B score that is not a number, no examples;
            the message names the file and line.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    if task.source is not None:
        return read_user_split(task, data_dir, split)
    path = _find_file(task, data_dir, split)
    is_test = split == "test"
    layout = _LAYOUTS[task.name][is_test]
    examples = ExampleList(path)
    lines = _lines(path)
    columns = layout.min_columns
    if layout.header:
        # The header says how many columns rows have: MNLI's train and dev differ in their
        # label columns, and a file with an extra column throughout is still read right.
        header = next(lines, None)
        columns = 0 if header is None else len(header[1].split("\t"))
        if header is not None and columns < layout.min_columns:
            raise UserError(f"{path}, line 1 (the header): {columns} tab-separated column(s), "
                            f"but {task.name} {split} files have at least "
                            f"{layout.min_columns}; give the task's GLUE file")
    for line_number, line in lines:
        fields = line.split("\t")
        if len(fields) < columns:
            # GLUE's QQP train/dev really hold rows broken by stray newlines; Google's BERT
            # skips them too. In test every row must be predicted, so no skipping there.
            if task.name == "qqp" and not is_test:
                examples.skipped_rows += 1
                continue
            found = "a blank line" if not line.strip() else \
                f"{len(fields)} tab-separated column(s)"
            raise UserError(f"{path}, line {line_number}: {found}, but {task.name} {split} "
                            f"rows have {columns}; fix or remove the row")
        if len(fields) > columns:
            raise UserError(f"{path}, line {line_number}: {len(fields)} tab-separated columns, "
                            f"but {task.name} {split} rows have {columns}: a tab inside a text "
                            "would make the model read the wrong text; fix or remove the row")
        examples.append(Example(
            guid=fields[layout.guid] if is_test else f"{split}-{line_number}",
            text_a=fields[layout.text_a],
            text_b=None if layout.text_b is None else fields[layout.text_b],
            label=None if is_test else _label(task, fields[layout.label], path, line_number)))
    if not examples:
        raise UserError(f"{path} holds no {task.name} examples; give a non-empty {split} file")
    return examples


def check_data_dir(task, data_dir):
    """Raises a UserError saying what `data_dir` is, and what to fetch, where it is not a folder.

    A first run in a fresh clone, before it has any data, ends here: its one line must say
    where the data comes from, not only that a file is missing.

    Args:
        task: a `Task`.
        data_dir: the directory that should hold the task's GLUE files.
    """
    try:
        os.stat(data_dir)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UserError(f"{{data_dir}} {data_dir} is a symbolic link loop (it leads back to "
                            "itself); point it at the folder of the task's GLUE files") from None
    if os.path.isdir(data_dir):
        return
    source = (f"download GLUE with its download script ({GLUE_DOWNLOAD}) and give task "
              f"{task.name}'s folder" if task.glue_file else
              f"give the folder of the files that the {{task_config}} entry for {task.name} "
              "names" if task.source else f"give a folder of {task.name} rows in SST-2's layout")
    raise UserError(f"{{data_dir}} {data_dir} is not a folder; {source}, which holds "
                    f"{_needed(task)}")


def has_header(task, split):
    """Whether the task's GLUE file of `split` starts with a header line (CoLA's train and dev
    do not).

    Args:
        task: a built-in `Task`.
        split: "train", "dev" or "test".
    """
    return _LAYOUTS[task.name][split == "test"].header


def test_file_text(task, examples):
    """`examples` without their labels, as the task's GLUE test file: a header, then a row per
    example, numbered from 0 in the index column, that `read_examples(task, ..., "test")` reads
    back as the same texts. Test rows of a task whose test file is not on hand (most of GLUE's
    in ../shared) can so be made from its dev rows.

    Args:
        task: a built-in `Task`.
        examples: its `Example`s, e.g. the dev rows.
    """
    layout = _LAYOUTS[task.name][1]
    single = layout.text_b is None
    names = {layout.guid: "index", layout.text_a: "sentence" if single else "sentence1",
             layout.text_b: "sentence2"}
    lines = ["\t".join(names.get(column, f"column{column}")
                       for column in range(layout.min_columns))]
    for index, example in enumerate(examples):
        cells = [""] * layout.min_columns
        cells[layout.guid], cells[layout.text_a] = str(index), example.text_a
        if not single:
            cells[layout.text_b] = example.text_b
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def _find_file(task, data_dir, split):
    check_data_dir(task, data_dir)
    names = split_file_names(task, split)
    for name in names:
        path = os.path.join(data_dir, name)
        # Not only a regular file: a named pipe works too, read as a stream, since each
        # split is read once.
        if os.path.exists(path) and not os.path.isdir(path):
            return path
    for name in names:
        path = os.path.join(data_dir, name)
        if os.path.isdir(path):
            raise UserError(f"{path} is a folder, not the {split} file; put the task's GLUE "
                            f"{split} file there")
        if os.path.islink(path):
            raise UserError(f"{path} is a symbolic link that leads nowhere or in a loop (to "
                            f"{os.readlink(path)}); point it at the task's GLUE {split} file")
    raise UserError(f"{{data_dir}} {data_dir} has no "
                    f"{_alternatives(split_file_names(task, split))}; task {task.name} needs "
                    f"{_needed(task)} there")


def _needed(task):
    if task.source is not None:
        return ", ".join(name for _, name in task.source.files)
    return ", ".join(_alternatives(split_file_names(task, s)) for s in SPLITS)


def _alternatives(names):
    return " (or ".join(names) + ")" * (len(names) - 1)


def _lines(path):
    """Yields (line number from 1, text) of the lines of a GLUE file, without their ends.

    The file is read by `text_files.read_text` (MRPC's files start with a byte order mark;
    any line end convention); blank lines at the end of the file are no lines. GLUE files
    have no quoting (quotes are text), so a line is a row and splitting it on tabs gives its
    fields.
    """
    lines = read_text(path, "GLUE file", "give a readable file").split("\n")
    blank = []  # blank lines, kept back until a line with text shows they are not the end
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            blank.append((line_number, line))
            continue
        yield from blank
        blank.clear()
        yield line_number, line


def _label(task, text, path, line_number):
    """The label of a row: a string of the task's label set, or STS-B's float score."""
    text = text.strip()
    if task.is_regression:
        try:
            score = float(text)
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise UserError(f"{path}, line {line_number}: the {task.name} score {text!r} is not "
                            "a number; scores are numbers like 3.8")
        return score
    if text not in task.labels:
        raise UserError(f"{path}, line {line_number}: label {text!r} is not one of the "
                        f"{task.name} labels ({', '.join(task.labels)}); fix the row")
    return text
