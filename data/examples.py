"""Examples: the rows of a task's files, as every reader returns them."""

import dataclasses

SPLITS = ("train", "dev", "test")


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
