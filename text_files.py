"""Reading the files a user gives, as their editor saved them (atomic_files.py is the write side).

Every text file the project reads (GLUE TSVs, vocab.txt, the JSON configs) goes through
`read_text`, so that all of them follow one rule: UTF-8, a leading byte order mark dropped
(Windows editors write one), and lines ended by "\\n", "\\r\\n" or an old Mac's lone "\\r"
all read as ending in "\\n".
"""

import re

from errors import UserError

# A lone "\r" is one followed by neither "\r" nor "\n".
_LONE_CR = re.compile(rb"\r(?![\r\n])")
_ANY_LINE_END = re.compile(rb"\r\n|\r|\n")


def read_bytes(path, what, remedy):
    """The raw bytes of a file the user pointed us at (binary files read this alone).

    Args:
        path: the file's path, as the user gave it.
        what: what the file should be, for messages, e.g. "WordPiece vocab" or
            "{task_config}" (see `errors.UserError`).
        remedy: what to do if the file is missing or unreadable, e.g. "check the vocab path".

    Raises:
        UserError: the file is missing, is a folder, or cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UserError(f"{what} {path} not found; {remedy}") from None
    except OSError as error:
        raise UserError(f"cannot read {what} {path} ({error.strerror or error}); {remedy}"
                        ) from None


def read_text(path, what, remedy):
    """The text of a UTF-8 file, its byte order mark dropped and every line ended by "\\n".

    A final line end stays, so `text.split("\\n")` ends in "" exactly when the file ends in
    a line end.

    Args:
        path, what, remedy: as for `read_bytes`.

    Raises:
        UserError: the file is missing or unreadable, or holds bytes that are not UTF-8
            (the message names its line).
    """
    lines = _split_lines(read_bytes(path, what, remedy))
    text = "\n".join(_decoded(line, number, what, path)
                     for number, line in enumerate(lines, start=1))
    return text.removeprefix("\ufeff")


def _split_lines(data):
    """The lines of `data` without their ends.

    A lone "\\r" inside a line of text would split it in two, so a lone "\\r" ends lines only
    where it ends the first line (a file saved on an old Mac); elsewhere lines end in "\\n",
    after any "\\r" ("\\r\\r\\n" is a CRLF file converted twice).
    """
    first_end = data.find(b"\n") + 1 or len(data)
    if _LONE_CR.search(data, 0, first_end):
        return _ANY_LINE_END.split(data)
    return [line.rstrip(b"\r") for line in data.split(b"\n")]


def _decoded(line, number, what, path):
    """Line `number` of `path` as text; a UserError naming it if it is not UTF-8."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{what} {path}, line {number}: bytes that are not UTF-8 "
                        f"({error.reason} at byte {error.start}); save the file as UTF-8"
                        ) from None
