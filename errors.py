"""The one exception type for bad input from the user.

`main.py` prints `str(error)` as a single line on stderr and exits with status 2, so the
message must name the problem (file, line, variable, flag) and say what to do about it.
"""


class UserError(Exception):
    """Bad input: a missing or malformed file, an invalid flag, a checkpoint that does not fit."""
