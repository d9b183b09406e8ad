"""The run's log in OUTPUT_DIR, `log_file.txt`: appended to, never truncated, and echoed to the
console (the record that --RESUME reads is `training.progress`)."""

import contextlib
import os
import sys
import warnings

from atomic_files import write_error

LOG_FILE = "log_file.txt"
# The original names its two trained models so in its per-epoch lines.
ORIGINAL_MODEL_NAMES = {"fine-tuning": "Fine-tuned", "re-training": "Re-trained"}

# The `_WarningLines` of the `warnings_and_error_into_log` block running now.
_warning_lines = None


class RunLog:
    """Appends lines to the run's log file and prints them.

    Args:
        output_dir: the run's OUTPUT_DIR; the file is `log_file.txt` inside it.
    """

    def __init__(self, output_dir):
        self.path = os.path.join(output_dir, LOG_FILE)
        if _warning_lines is not None and _warning_lines.log is None:
            _warning_lines.log = self
            _warning_lines.flush()

    def __call__(self, line):
        print(line, file=sys.stdout, flush=True)
        try:
            self.append(line)
        except OSError as error:  # checked before the run began; a full disk comes later
            raise write_error(self.path, error, "free space or fix its permissions (a training "
                              "run goes on with --RESUME)") from None

    def append(self, line):
        """Appends `line` to the file only (stdout is not the record)."""
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


class _WarningLines:
    """Python warnings as log lines: each text once, kept back until the run's RunLog exists."""

    def __init__(self):
        self.log, self.pending, self.seen = None, [], set()

    def show(self, message, category, filename, lineno, file=None, line=None):
        text = "warning: " + " ".join(str(message).split())
        if text not in self.seen:
            self.seen.add(text)
            self.pending.append(text)
            self.flush()

    def flush(self):
        if self.log is not None:
            lines, self.pending = self.pending, []
            for line in lines:
                self.log(line)


@contextlib.contextmanager
def warnings_and_error_into_log(error_line=lambda error: None):
    """Within the block, Python warnings (scikit-learn's, Keras's, ours) go into the run's log
    as one line each, once, not onto stderr, which holds nothing but an error's one line; and
    the error that ends the block ends the log too, so that a failed run's record does not
    read as a success.

    A warning given before the first RunLog of the block exists waits for it; if the run ends
    before (bad input), neither the warning nor the error is logged: such a run leaves
    OUTPUT_DIR as it was.

    Args:
        error_line: function(exception) giving the line stderr shows for it (see
            `errors.error_line`), or None for an error that gets no such line.
    """
    global _warning_lines
    outer = _warning_lines
    with warnings.catch_warnings():
        _warning_lines = _WarningLines()
        warnings.showwarning = _warning_lines.show
        try:
            yield
        except BaseException as error:
            line, log = error_line(error), _warning_lines.log
            if line and log is not None:
                # Best effort: a full disk or the log itself may be what failed, and stderr
                # has the line anyway.
                with contextlib.suppress(OSError):
                    log.append(line)
            raise
        finally:
            _warning_lines = outer


def original_epochs_line(step, values):
    """The original's line listing a step's dev metric per epoch, spelled as it writes it.

    The original writes a newline before each line, not after, so its lines start with a
    space; keeping that space lets scripts written for its log_file.txt match ours exactly.

    Args:
        step: "fine-tuning" or "re-training".
        values: the original's validation metric of each epoch (accuracy as a fraction, or
            Pearson's r for STS-B), first epoch first.

    Returns:
        e.g. " Re-trained model accuracies for all epochs on the Dev set:[0.68, 0.7]"; the
        list parses with `ast.literal_eval`.
    """
    return (f" {ORIGINAL_MODEL_NAMES[step]} model accuracies for all epochs on the Dev set:"
            f"{[float(value) for value in values]}")


def original_retention_line(retention):
    """The original's retention configuration line, spelled as it writes it (see above).

    Args:
        retention: the `RetentionConfiguration`; its numbers are written as a list.
    """
    return f" Retention Configuration :{retention}"
