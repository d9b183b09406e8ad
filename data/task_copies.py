"""Task folders made from a task's own, for a benchmark's work folder: its training rows cut to
a share drawn by a fixed seed, its training rows split into train and held-out dev rows, and
its dev rows as a test file. Each is made once, whole (a folder renamed into place), and used
as it is afterwards."""

import os
from pathlib import Path

import numpy as np

from atomic_files import folder_written_atomically
from data.examples import held_out
from data.glue import has_header, read_examples, test_file_text
from text_files import read_text

# The rows a training-rows cap keeps are drawn with this seed: the same in every run and in every
# benchmark, so that a LAMBDA chosen on a capped task is the one its table row trains with.
CAP_SEED = 36


def capped_training_folder(task, source, rows, seed, path):
    """Makes `path` a DATA_DIR of the task whose train.tsv holds `rows` of `source`'s training
    rows, drawn with `seed` and kept in the file's order, and whose dev.tsv is a link to
    `source`'s; returns `path`.

    Args:
        task: a built-in `Task`.
        source: its GLUE folder, holding more than `rows` training rows.
        rows, seed: how many rows to keep, and the seed that draws them.
        path: the folder to make, in a folder that exists; kept as it is if made before.
    """
    if not os.path.isdir(path):
        header, lines = _training_lines(task, source)
        keep = np.sort(np.random.default_rng(seed).choice(len(lines), rows, replace=False))
        with folder_written_atomically(path) as temp:
            _write_lines(temp, "train.tsv", header, [lines[i] for i in keep])
            os.symlink(os.path.abspath(os.path.join(source, "dev.tsv")),
                       os.path.join(temp, "dev.tsv"))
    return path


def training_rows_capped(task, source, cap, folder):
    """(the DATA_DIR to train on, its training rows): `source` where `cap` is None or it holds
    at most `cap` training rows, else a copy of `source` in `folder`/train_<cap>_rows holding
    `cap` of them drawn with `CAP_SEED` (`capped_training_folder`)."""
    rows = len(read_examples(task, source, "train"))
    if cap is None or rows <= cap:
        return source, rows
    return capped_training_folder(task, source, cap, CAP_SEED,
                                  os.path.join(folder, f"train_{cap}_rows")), cap


def held_out_folder(task, source, share, path):
    """Makes `path` a DATA_DIR of the task whose dev.tsv holds `share` of `source`'s training
    rows (`data.examples.held_out`: always the same rows) and whose train.tsv holds the rest,
    each in the file's order, in the layout of `source`'s train.tsv (its header line, where
    the task's files have one); returns `path`. Choices made on its dev rows leave the task's
    own dev rows to score models that no choice has seen.

    Args:
        task: a built-in `Task`.
        source: its GLUE folder, holding at least 2 training rows.
        share: the share of the training rows to hold out, between 0 and 1.
        path: the folder to make, in a folder that exists; kept as it is if made before.
    """
    if not os.path.isdir(path):
        header, lines = _training_lines(task, source)
        is_held = held_out(len(lines), share)
        with folder_written_atomically(path) as temp:
            for name, held in (("train.tsv", False), ("dev.tsv", True)):
                _write_lines(temp, name, header,
                             [line for line, this in zip(lines, is_held) if this == held])
    return path


def _training_lines(task, source):
    """(the header lines, the rows) of `source`'s train.tsv, as lines of text."""
    lines = read_text(os.path.join(source, "train.tsv"), "GLUE file",
                      "give a readable file").rstrip("\n").split("\n")
    header = int(has_header(task, "train"))
    return lines[:header], lines[header:]


def _write_lines(folder, name, header, lines):
    Path(folder, name).write_text("\n".join(header + lines) + "\n", encoding="utf-8")


def dev_as_test_folder(task, source, path):
    """Makes `path` a folder whose test.tsv holds `source`'s dev rows without their labels, in
    the task's GLUE test layout (`data.glue.test_file_text`); returns `path`.

    Args:
        task: a built-in `Task`.
        source: its GLUE folder.
        path: the folder to make, in a folder that exists; kept as it is if made before.
    """
    if not os.path.isdir(path):
        text = test_file_text(task, read_examples(task, source, "dev"))
        with folder_written_atomically(path) as temp:
            Path(temp, "test.tsv").write_text(text, encoding="utf-8")
    return path
