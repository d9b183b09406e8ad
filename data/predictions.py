"""The files `--PREDICT_ONLY` writes: `prediction.txt` and the GLUE server's TSV."""

from atomic_files import write_atomically
from training.metrics import glue_prediction_label


def write_predictions(path, outputs):
    """`prediction.txt`: per test row, its class probabilities (or STS-B score), space-separated."""
    write_atomically(path, "".join(" ".join(f"{v:.8g}" for v in row) + "\n" for row in outputs))


def write_glue_submission(path, task, examples, outputs):
    """The GLUE server's file for the task: `index<TAB>prediction`, labels spelled as GLUE does."""
    rows = [f"{example.guid}\t{glue_prediction_label(task, row)}\n"
            for example, row in zip(examples, outputs)]
    write_atomically(path, "index\tprediction\n" + "".join(rows))
