"""The one exception type for bad input from the user.

`main.py` prints `str(error)` as a single line on stderr and exits with status 2, so the
message must name the problem (file, line, variable, flag) and say what to do about it.
"""

import sys


class UserError(Exception):
    """Bad input: a missing or malformed file, an invalid flag, a checkpoint that does not fit."""


def exit_code(command, *args):
    """Runs a command-line entry point: 0 on success; a UserError is one stderr line and 2."""
    try:
        command(*args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
