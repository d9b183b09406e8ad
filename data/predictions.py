"""The files a prediction run writes: `prediction.txt`; the GLUE server's TSV; for a user
task, `predicted_labels.txt`. They are written a chunk of rows at a time, so that a test
file of any size streams through."""

import contextlib
import os

import numpy as np

from atomic_files import replaced_atomically

PREDICTIONS = "prediction.txt"
PREDICTED_LABELS = "predicted_labels.txt"


def prediction_files(task, pred_glue):
    """The names of the files a prediction run for `task` writes into OUTPUT_DIR.

    Args:
        task: a `Task`.
        pred_glue: --PRED_GLUE (the GLUE server's file too).
    """
    return [PREDICTIONS, *([task.glue_file] if pred_glue else []),
            *([PREDICTED_LABELS] if task.source is not None else [])]


@contextlib.contextmanager
def prediction_writer(task, output_dir, pred_glue):
    """Opens a run's prediction files; each comes into place only once all rows are written.

    Args:
        task: a `Task`.
        output_dir: OUTPUT_DIR.
        pred_glue: --PRED_GLUE.

    Yields:
        write(examples, outputs): appends the rows of a chunk of test examples, given their
        model outputs (class probabilities or scores, one row each).
    """
    names = prediction_files(task, pred_glue)
    with contextlib.ExitStack() as files:
        opened = {name: files.enter_context(open(
            files.enter_context(replaced_atomically(os.path.join(output_dir, name))),
            "w", encoding="utf-8")) for name in names}
        if task.glue_file in opened:
            opened[task.glue_file].write("index\tprediction\n")

        def write(examples, outputs):
            opened[PREDICTIONS].write(
                "".join(" ".join(f"{v:.8g}" for v in row) + "\n" for row in outputs))
            if task.glue_file in opened:
                opened[task.glue_file].write("".join(
                    f"{example.guid}\t{glue_prediction_label(task, row)}\n"
                    for example, row in zip(examples, outputs)))
            if PREDICTED_LABELS in opened:
                opened[PREDICTED_LABELS].write("".join(
                    f"{predicted_label(task, row)}\n" for row in outputs))

        yield write


def glue_prediction_label(task, output_row):
    """One prediction as the GLUE server expects it in a submission file.

    Args:
        task: a `Task`.
        output_row: the model output of one example: class probabilities, or the score.

    Returns:
        The label string (e.g. "entailment", "1"), or the STS-B score as a decimal number.
    """
    if task.is_regression:
        return f"{float(np.ravel(output_row)[0]):.3f}"
    return task.labels[int(np.argmax(output_row))]


def predicted_label(task, output_row):
    """One prediction as `predicted_labels.txt` holds it: the label as the task's files spell
    it, or the score (as prediction.txt has it).

    Args:
        task: a `Task`.
        output_row: the model output of one example: class probabilities, or the score.
    """
    if task.is_regression:
        return f"{float(np.ravel(output_row)[0]):.8g}"
    return task.labels[int(np.argmax(output_row))]
