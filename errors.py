"""The one exception type for bad input from the user.

An entry point prints an error as a single line on stderr and exits with status 2, so the
message must name the problem (file, line, variable) and say what to do about it.

Library code does not know how its inputs were given (main.py's --CHECKPOINT_PATH, the
benchmark's --checkpoint, or an argument in Python), so its messages name them as fields,
e.g. "{checkpoint} /x/model.ckpt is not a TensorFlow checkpoint prefix", and each entry point
fills in its own flags.
"""

import argparse
import errno
import os
import signal
import sys

# The inputs a message can name as a field, and their names for a caller without flags.
INPUTS = {"bert_config": "BERT config", "checkpoint": "checkpoint",
          "data_dir": "GLUE data folder", "model_format": "model format",
          "retention": "retention configuration", "retention_mode": "retention mode",
          "task": "task", "task_config": "task config"}

# The original PoWER-BERT's flag for each input, as main.py and deploy.export take them.
ORIGINAL_FLAGS = {"bert_config": "--BERT_CONFIG_PATH", "checkpoint": "--CHECKPOINT_PATH",
                  "data_dir": "--DATA_DIR", "model_format": "--MODEL_FORMAT",
                  "retention": "--RETENTION_CONFIG", "retention_mode": "--RETENTION_MODE",
                  "task": "--TASK", "task_config": "--TASK_CONFIG_PATH"}


class UserError(Exception):
    """Bad input: a missing or malformed file, an invalid flag, a checkpoint that does not fit.

    Args:
        message: the problem, the file or value it is in, and what to do; inputs are written
            as fields of INPUTS, e.g. "check {bert_config} and {checkpoint}". Only those
            fields are filled in, so braces in file names or values need no escaping.
    """

    def __str__(self):
        return self.naming({})

    def naming(self, flags):
        """The message, with its inputs named as the caller knows them.

        Args:
            flags: {input: name}, e.g. {"checkpoint": "--CHECKPOINT_PATH"}; an input not in
                it is named as in INPUTS.
        """
        text = str(self.args[0]) if self.args else ""
        for field, name in {**INPUTS, **flags}.items():
            text = text.replace("{" + field + "}", name)
        return text


class OneLineParser(argparse.ArgumentParser):
    """An argparse parser whose errors are UserErrors: one line, pointing at --help."""

    def error(self, message):
        raise UserError(f"{message}; see {self.prog} --help")


def comma_list(flag, text, kind):
    """The comma-separated values of flag `flag`'s `text`, each once, as `kind` (int for
    integers); UserError in one line where they are not."""
    try:
        values = [kind(value.strip()) for value in text.split(",")]
    except ValueError:
        raise UserError(f"{flag} {text!r} is not a comma-separated list of integers") from None
    if len(set(values)) != len(values) or "" in values:
        raise UserError(f"{flag} {text!r} names a value twice, or none")
    return values


def is_disk_full(error):
    """Whether `error` says the file system is full, as Python, h5py or TensorFlow raise it.

    TensorFlow's writers (the SavedModel) raise ResourceExhaustedError, with the OS's words.
    """
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return type(error).__name__ == "ResourceExhaustedError" and (
        os.strerror(errno.ENOSPC) in str(error) or os.strerror(errno.EDQUOT) in str(error))


def disk_full_error(path):
    """The UserError for `path` not written because its file system is full."""
    folder = os.path.dirname(os.path.abspath(path))
    return UserError(f"the disk is full: {path} could not be written (in {folder}); free some "
                     "space there and run again")


def exit_code(command, *args, flags=None, after_interrupt=None):
    """Runs a command-line entry point: 0 on success; a UserError is one stderr line and 2;
    Ctrl-C or SIGTERM (kill, timeout, a cluster scheduler) is one line and 130.

    What the command prints on standard output is best effort: a reader that has gone (a
    closed pipe or terminal) does not stop it, since its files are what it is run for.

    Args:
        command: the entry point's function, called with `args`.
        flags: {input: the entry point's flag that gives it}, see `UserError.naming`.
        after_interrupt: returns what an interrupted run leaves and how to go on.
    """
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    stdout = sys.stdout
    # None where the process started with its standard output closed (`>&-`).
    sys.stdout = _BestEffortOutput(stdout or open(os.devnull, "w", encoding="utf-8"))
    try:
        command(*args)
    except (UserError, OSError, KeyboardInterrupt) as error:
        print(error_line(error, flags, after_interrupt), file=sys.stderr)
        return 130 if isinstance(error, KeyboardInterrupt) else 2
    finally:
        sys.stdout = stdout
        signal.signal(signal.SIGTERM, previous_handler)
    return 0


def error_line(error, flags=None, after_interrupt=None):
    """The one line that `exit_code` prints for `error`; None for an error that is a bug,
    which gets its traceback instead. Args as `exit_code`'s."""
    if isinstance(error, UserError):
        return f"error: {error.naming(flags or {})}"
    if isinstance(error, OSError):
        # A fault that no check beforehand could foresee (the file system went away, refused
        # a folder or filled up): still one line, naming the file.
        return f"error: {_os_error_line(error)}"
    if isinstance(error, KeyboardInterrupt):
        return f"error: interrupted{f'; {after_interrupt()}' if after_interrupt else ''}"
    return None


def _os_error_line(error):
    if is_disk_full(error) and error.filename:
        return str(disk_full_error(error.filename))
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}; check that path, its permissions and its disk"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class _BestEffortOutput:
    """A text stream whose writes never fail for want of a reader: once its pipe is broken,
    its file descriptor is pointed at /dev/null, so that the rest, and the interpreter's last
    flush at exit, go nowhere quietly."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up log (printed before any log setting applies)
    kept off stderr, so that an error is the one line a user sees there."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf
        tf.config.list_physical_devices()  # looks for GPUs now, while stderr is quiet
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
