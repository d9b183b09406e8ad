"""Task folders made from a task's own, for a benchmark's work folder: its training rows cut to
a share drawn by a fixed seed, and its dev rows as a test file. Each is made once, whole (a
folder renamed into place), and used as it is afterwards."""

import os
from pathlib import Path

import numpy as np

from atomic_files import folder_written_atomically
from data.glue import has_header, read_examples, test_file_text
from text_files import read_text


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
        lines = read_text(os.path.join(source, "train.tsv"), "GLUE file",
                          "give a readable file").rstrip("\n").split("\n")
        header = int(has_header(task, "train"))
        keep = np.sort(np.random.default_rng(seed).choice(len(lines) - header, rows,
                                                          replace=False))
        with folder_written_atomically(path) as temp:
            Path(temp, "train.tsv").write_text("\n".join(
                lines[:header] + [lines[header + i] for i in keep]) + "\n", encoding="utf-8")
            os.symlink(os.path.abspath(os.path.join(source, "dev.tsv")),
                       os.path.join(temp, "dev.tsv"))
    return path


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
