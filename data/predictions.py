"""The files a prediction run writes: `prediction.txt` and the GLUE server's TSV."""

import numpy as np

from atomic_files import write_atomically

PREDICTIONS = "prediction.txt"


def write_predictions(path, outputs):
    """`prediction.txt`: per test row, its class probabilities (or STS-B score), space-separated."""
    write_atomically(path, "".join(" ".join(f"{v:.8g}" for v in row) + "\n" for row in outputs))


def write_glue_submission(path, task, examples, outputs):
    """The GLUE server's file for the task: `index<TAB>prediction`, labels spelled as GLUE does."""
    rows = [f"{example.guid}\t{glue_prediction_label(task, row)}\n"
            for example, row in zip(examples, outputs)]
    write_atomically(path, "index\tprediction\n" + "".join(rows))


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
