"""Examples: the rows of a task's files, as every reader returns them."""

import dataclasses

import numpy as np

SPLITS = ("train", "dev", "test")
# Without a dev file, this share of a user task's train is held out as dev: the same rows in
# every run (the seed is fixed, not --SEED), so that --EVAL_ONLY scores the rows training did
# not see. benchmarks.choose_lambda holds out a built-in task's rows by the same draw.
DEV_SHARE = 0.1
_HOLD_OUT_SEED = 37


@dataclasses.dataclass(frozen=True)
class Example:
    """One row of a task's file.

    Args:
        guid: for GLUE's test rows its index column (it goes into the submission file);
            otherwise "<split>-<line number>" (a user task's held-out dev rows: "train-...").
        text_a: the first (or only) sentence.
        text_b: the second sentence of a pair task; None for single-sentence tasks.
        label: the label string for classification, the float score of a regression (STS-B),
            None in a test file without labels.
    """

    guid: str
    text_a: str
    text_b: str | None
    label: str | float | None


class ExampleList(list):
    """The examples of one file, plus where they came from.

    Attributes:
        path: the file read.
        skipped_rows: rows dropped for having too few columns (only ever QQP's known
            broken rows; every other malformed row is an error).
        note: a line for the run's log on how the rows were chosen (a user task's dev rows
            held out of train), or None.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.skipped_rows = 0
        self.note = None


def held_out(count, share=DEV_SHARE):
    """Which of `count` rows are held out of training: `share` of them, rounded, at least one
    and at least one left to train on, always the same rows (a fixed seed).

    Args:
        count: the rows, at least 2.
        share: the share to hold out, between 0 and 1.

    Returns:
        A boolean array [count], True for each row held out.
    """
    held = min(count - 1, max(1, round(share * count)))
    is_held = np.zeros(count, dtype=bool)
    is_held[np.random.default_rng(_HOLD_OUT_SEED).permutation(count)[:held]] = True
    return is_held
