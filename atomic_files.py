"""Output files written atomically: into a temporary file beside the target, renamed when complete.

An interrupted run never leaves a half-written file under the real name, and a file from an
earlier run stays intact until the new one is complete. Every file the project writes into
OUTPUT_DIR (weights, logs, predictions, pictures) goes through here.
"""

import contextlib
import os
import tempfile

from errors import UserError


@contextlib.contextmanager
def replaced_atomically(path):
    """Yields a temporary path beside `path`; renames it to `path` once the block succeeds.

    Raises:
        UserError: the folder of `path` is missing or not writable.
    """
    path = os.fspath(path)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                        dir=os.path.dirname(os.path.abspath(path)))
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror}; check that its folder exists "
                        "and is writable") from None
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
    """Writes a UTF-8 text file through `replaced_atomically`."""
    with replaced_atomically(path) as temp, open(temp, "w", encoding="utf-8") as f:
        f.write(text)
