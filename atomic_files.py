"""Output files written atomically: into a temporary file beside the target, renamed when complete.

An interrupted run never leaves a half-written file under the real name, and a file from an
earlier run stays intact until the new one is complete. Every file the project writes into
OUTPUT_DIR (weights, logs, predictions, pictures) goes through here.

A writer killed hard (SIGKILL, the OOM killer, power loss) cannot remove its temporary file,
so the name says who wrote it, e.g. ".finetune.hdf5.power-bert-4242@host.k3j9x0ab.tmp":
`left_by_dead_writers` finds those whose process is gone, for the next run to remove.
"""

import contextlib
import os
import re
import shutil
import socket
import tempfile

from errors import UserError, disk_full_error, is_disk_full

_TEMP_NAME = re.compile(r"\.power-bert-(?P<pid>\d+)@(?P<host>.*)\.[a-z0-9_]+\.tmp\Z")
# The names of the temporary files and folders this process is writing now. One that names
# this process's id but is not here was left by a dead process that had the same id (as each
# new container's first process has).
_writing = set()


def write_error(path, error, advice):
    """The UserError for `path` not written because of the OSError `error`; `advice` says what
    to do unless the disk is full."""
    if is_disk_full(error):
        return disk_full_error(path)
    return UserError(f"cannot write {path}: {error.strerror}; {advice}")


@contextlib.contextmanager
def full_disk_reported(path):
    """Turns a full file system within the block into `disk_full_error(path)`."""
    try:
        yield
    except Exception as error:
        if is_disk_full(error):
            raise disk_full_error(path) from None
        raise


@contextlib.contextmanager
def replaced_atomically(path):
    """Yields a temporary path beside `path`; renames it to `path` once the block succeeds.

    Raises:
        UserError: the folder of `path` is missing or not writable, or its disk is full.
    """
    path = os.fspath(path)
    try:
        handle, temp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp",
                                        dir=os.path.dirname(os.path.abspath(path)))
    except OSError as error:
        raise write_error(path, error, "check that its folder exists and is writable") from None
    os.close(handle)
    with _published(temp, path, 0o666, os.replace, _remove_file):
        yield temp


def write_atomically(path, text):
    """Writes a UTF-8 text file through `replaced_atomically`."""
    with replaced_atomically(path) as temp, open(temp, "w", encoding="utf-8") as f:
        f.write(text)


@contextlib.contextmanager
def folder_written_atomically(path):
    """Yields a temporary folder beside `path`; renames it to `path` once the block succeeds.

    Raises:
        UserError: `path` exists already, or its parent folder is missing or not writable, or
            its disk is full.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.lexists(path):
        raise UserError(f"{path} exists already; give a new folder, or remove it first")
    try:
        temp = tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp",
                                dir=os.path.dirname(path))
    except OSError as error:
        raise write_error(path, error, "check that its parent folder exists and is writable"
                          ) from None
    with _published(temp, path, 0o777, os.rename,
                    lambda folder: shutil.rmtree(folder, ignore_errors=True)):
        yield temp


@contextlib.contextmanager
def _published(temp, path, mode, publish, discard):
    """Runs the block that writes `temp`, then gives `temp` `mode` (less the umask) and
    `publish(temp, path)`es it; `discard(temp)` removes what is left after a failure."""
    _writing.add(os.path.basename(temp))
    try:
        with full_disk_reported(path):
            yield
        umask = os.umask(0)
        os.umask(umask)
        # mkstemp's 0600 and mkdtemp's 0700 would hide the outputs from other users.
        os.chmod(temp, mode & ~umask)
        publish(temp, path)
    finally:
        discard(temp)
        _writing.discard(os.path.basename(temp))


def _remove_file(path):
    if os.path.exists(path):
        os.remove(path)


def left_by_dead_writers(folder):
    """The temporary files and folders in `folder` that writers of this module left behind.

    Returns:
        (paths whose writer's process is gone, so that nothing will rename them any more;
        paths written on another machine, whose processes this one cannot see).
    """
    host = socket.gethostname()
    dead, elsewhere = [], []
    for name in sorted(os.listdir(folder)):
        match = _TEMP_NAME.search(name)
        if match and match["host"] != host:
            elsewhere.append(os.path.join(folder, name))
        elif match and not _is_writing(int(match["pid"]), name):
            dead.append(os.path.join(folder, name))
    return dead, elsewhere


def _temp_prefix(path):
    return f".{os.path.basename(path)}.power-bert-{os.getpid()}@{socket.gethostname()}."


def _is_writing(pid, name):
    """Whether process `pid` of this machine may still be writing the temporary `name`."""
    if pid == os.getpid():
        return name in _writing
    try:
        os.kill(pid, 0)  # sends no signal: only asks whether the process exists
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # it exists, as another user's
        pass
    return True
