"""Reading a user-supplied tokenizer file, turning OS errors into one-line UserErrors."""

from errors import UserError


def read_user_file(path: str, what: str) -> bytes:
    """Returns the raw bytes of a file the user pointed us at.

    Args:
        path: the file's path, as the user gave it.
        what: what the file should be (e.g. "WordPiece vocab"), for the error message.

    Raises:
        UserError: the file is missing, is a folder, or cannot be read.
    """
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UserError(f"{what} file not found: {path}; check the vocab path") from None
    except OSError as error:
        raise UserError(
            f"cannot read {what} file {path} ({error.strerror or error}); "
            "point the vocab path at a readable file"
        ) from None
