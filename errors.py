"""The one exception type for bad input from the user.

An entry point prints an error as a single line on stderr and exits with status 2, so the
message must name the problem (file, line, variable) and say what to do about it.

Library code does not know how its inputs were given (main.py's --CHECKPOINT_PATH, the
benchmark's --checkpoint, or an argument in Python), so its messages say which input they are
about (`source`) and each entry point names that input by its own flag.
"""

import sys

# How str() names each input a library error can be about, for callers without flags.
SOURCES = {"bert_config": "BERT config", "checkpoint": "checkpoint",
           "data_dir": "GLUE data folder", "model_format": "checkpoint format",
           "retention": "retention configuration", "task": "task", "task_config": "task config"}


class UserError(Exception):
    """Bad input: a missing or malformed file, an invalid flag, a checkpoint that does not fit.

    Args:
        message: the problem and the file or value it is in. With a `source`, it goes on from
            the input's name, e.g. "/x/model.hdf5 is not a file; give the .hdf5 file".
        source: the input it is about, a key of SOURCES; None when the message is whole.
    """

    def __init__(self, message, source=None):
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self):
        return self.naming(SOURCES)

    def naming(self, names):
        """The message, its input named as the caller knows it.

        Args:
            names: {source: name}, e.g. {"checkpoint": "--CHECKPOINT_PATH"}; an input that is
                not in it keeps its name from SOURCES.
        """
        if self.source is None:
            return self.message
        return f"{names.get(self.source, SOURCES[self.source])} {self.message}"


def exit_code(command, *args, flags=None):
    """Runs a command-line entry point: 0 on success; a UserError is one stderr line and 2.

    Args:
        command: the entry point's function, called with `args`.
        flags: {source: the entry point's flag for that input}, see `UserError.naming`.
    """
    try:
        command(*args)
    except UserError as error:
        print(f"error: {error.naming(flags or {})}", file=sys.stderr)
        return 2
    return 0
