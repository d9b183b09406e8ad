"""The files `--PREDICT_ONLY` writes: `prediction.txt` and the GLUE server's TSV."""

import contextlib
import os
import tempfile

from training.metrics import glue_prediction_label


@contextlib.contextmanager
def replaced_atomically(path):
    """Yields a temporary path beside `path`; renames it to `path` once the block succeeds.

    An interrupted run never leaves a half-written file under the real name, and a file
    from an earlier run stays intact until the new one is complete.
    """
    handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                    dir=os.path.dirname(os.path.abspath(path)))
    os.close(handle)
    try:
        yield temp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)  # mkstemp's 0600 would hide outputs from other users
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def write_atomically(path, text):
    """Writes a text file through `replaced_atomically`."""
    with replaced_atomically(path) as temp, open(temp, "w", encoding="utf-8") as f:
        f.write(text)


def write_predictions(path, outputs):
    """`prediction.txt`: per test row, its class probabilities (or STS-B score), space-separated."""
    write_atomically(path, "".join(" ".join(f"{v:.8g}" for v in row) + "\n" for row in outputs))


def write_glue_submission(path, task, examples, outputs):
    """The GLUE server's file for the task: `index<TAB>prediction`, labels spelled as GLUE does."""
    rows = [f"{example.guid}\t{glue_prediction_label(task, row)}\n"
            for example, row in zip(examples, outputs)]
    write_atomically(path, "index\tprediction\n" + "".join(rows))
