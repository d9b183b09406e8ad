"""OUTPUT_DIR, main.py's folder for a run's outputs: checked before a run writes there, and
locked while it does."""

import contextlib
import fcntl
import os
import shutil
import warnings

from atomic_files import left_by_dead_writers, write_error
from errors import UserError
from training.log import LOG_FILE


def check_output_dir(path, replaced):
    """OUTPUT_DIR must be a folder we can write in, or one we can create, with a log we can append
    to and no folder where the run will write a file.

    Args:
        path: `--OUTPUT_DIR`.
        replaced: the names of the files the run writes whole (renamed into place).
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"--OUTPUT_DIR {path} is a file, not a folder; give a folder")
    # A symbolic link to a folder not made yet is made where it points, as `mkdir -p` does.
    target = os.path.realpath(path)
    if os.path.lexists(target) and not os.path.exists(target):
        raise UserError(f"--OUTPUT_DIR {path} is a symbolic link that leads back to itself; "
                        "point it at a folder, or give another OUTPUT_DIR")
    existing = target
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError(f"--OUTPUT_DIR {path} cannot be created: {existing} is a file; give a "
                        "folder path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--OUTPUT_DIR {path}: {existing} is not writable; give a folder you "
                        "can write in")
    log = os.path.join(path, LOG_FILE)
    if os.path.lexists(log) and not (os.path.isfile(log) and os.access(log, os.W_OK)):
        raise UserError(f"--OUTPUT_DIR {path}: its {LOG_FILE} cannot be appended to (it is "
                        f"{'a folder' if os.path.isdir(log) else 'not a writable file'}); "
                        "make it a writable file, or give another OUTPUT_DIR")
    for name in replaced:
        if os.path.isdir(os.path.join(path, name)):
            raise UserError(f"--OUTPUT_DIR {path} holds a folder named {name}, where the run "
                            "writes that file; move the folder, or give another OUTPUT_DIR")


@contextlib.contextmanager
def locked_output_dir(path, exclusive):
    """Creates OUTPUT_DIR if need be and holds a lock on it for the block; UserError if taken.

    Once it holds the lock, it removes the temporary files that runs killed hard left there
    (see `atomic_files.left_by_dead_writers`), and yields lines for the log saying so.

    A training run holds it alone: two would append to one log and overwrite each other's
    .hdf5 files. --EVAL_ONLY and --PREDICT_ONLY share it: they only append to the log and
    rename their files into place, so they can run side by side, but not beside a training
    run, whose log they would break into. The lock is flock's on the folder itself, so nothing
    is added to the folder, and the kernel drops it when the process ends, even by SIGKILL.
    """
    try:
        os.makedirs(os.path.realpath(path), exist_ok=True)  # through a link, as check_output_dir
        fd = os.open(path, os.O_RDONLY)
    except OSError as error:  # a file system that refuses folders (read-only, /proc, full)
        raise write_error(path, error, "give an --OUTPUT_DIR on a file system you can write "
                          "to") from None
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            pids = ", ".join(map(str, _lock_holders(fd)))
            raise UserError(f"another run{f' (pid {pids})' if pids else ''} is using "
                            f"--OUTPUT_DIR {path}; wait for it to end, or give another "
                            "OUTPUT_DIR") from None
        except OSError as error:
            # Some network file systems lock no folders: refusing would stop every run there.
            warnings.warn(f"--OUTPUT_DIR {path} cannot be locked ({error.strerror}): nothing "
                          "stops another run from writing into it at the same time")
            yield []
        else:
            yield _remove_dead_writers_temps(path)
    finally:
        os.close(fd)


def _remove_dead_writers_temps(path):
    """Removes what `left_by_dead_writers` finds in `path`; returns the log's lines on it."""
    dead, elsewhere = left_by_dead_writers(path)
    removed, failed = [], []
    for temp in dead:
        try:
            if os.path.isdir(temp):
                shutil.rmtree(temp)
            else:
                os.remove(temp)
        except FileNotFoundError:  # removed by a run beside this one, sharing the lock
            pass
        except OSError as error:
            failed.append(f"{os.path.basename(temp)} ({error.strerror})")
            continue
        removed.append(os.path.basename(temp))
    lines = []
    if removed:
        lines.append(f"Removed {len(removed)} temporary file(s) that runs killed while writing "
                     f"left in {path}: {', '.join(removed)}")
    if failed:
        lines.append(f"Could not remove temporary file(s) that runs killed while writing left "
                     f"in {path}: {', '.join(failed)}; delete them")
    if elsewhere:
        lines.append(f"Kept {len(elsewhere)} temporary file(s) in {path} that runs on other "
                     "machines wrote, which may still be writing them: "
                     f"{', '.join(map(os.path.basename, elsewhere))}; delete them once no run "
                     "there is writing into this folder")
    return lines


def _lock_holders(fd):
    """The ids of the other processes holding a flock on the file open as `fd`, from
    /proc/locks (Linux); empty where that cannot be read."""
    stat = os.fstat(fd)
    file_id = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii") as f:
            rows = [line.split() for line in f]
    except OSError:
        return []
    # "1: FLOCK  ADVISORY  WRITE 4535 fe:00:2146531 0 EOF"; waiters' rows have "->" in [1].
    return sorted({int(row[4]) for row in rows if len(row) > 5 and row[1] == "FLOCK"
                   and row[5] == file_id and row[4].isdigit()} - {os.getpid()})
