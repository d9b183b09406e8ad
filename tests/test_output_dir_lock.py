"""One training run per OUTPUT_DIR at a time: the lock main.py holds on the folder.

The runs under test are real `python main.py` processes where two must run at once or one must
be killed hard; the other side of each check runs in-process.
"""

import errno
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import main
from atomic_files import replaced_atomically
from tests.data_paths import real_data
from tests.helpers import HANG_S, OUTPUTS, make_tiny_run

REPO = Path(__file__).resolve().parents[1]
_HOLD_LOCK = ("import fcntl, os, sys, time\n"
              "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
              "fcntl.flock(fd, getattr(fcntl, sys.argv[2]))\n"
              "print('locked', flush=True)\n"
              "time.sleep(600)\n")


# An export that is writing its folder into OUTPUT_DIR until it reads a line.
_EXPORT_UNTIL_TOLD = ("import sys\n"
                      "from atomic_files import folder_written_atomically\n"
                      "with folder_written_atomically(sys.argv[1]) as temp:\n"
                      "    print(temp, flush=True)\n"
                      "    sys.stdin.readline()\n")


def _start_main(argv):
    return subprocess.Popen([sys.executable, "main.py", *argv], cwd=REPO, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(condition, processes, timeout=HANG_S):
    """Polls `condition()` until it is true; fails if it is not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, [p.poll() for p in processes]
        time.sleep(0.05)


def _log(out):
    path = out / "log_file.txt"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _is_locked(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@pytest.fixture
def holder():
    """holder(folder, mode): another process holding flock `mode` ("LOCK_EX", "LOCK_SH") on it."""
    processes = []

    def hold(folder, mode):
        process = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(folder), mode],
                                   stdout=subprocess.PIPE, text=True)
        processes.append(process)
        assert process.stdout.readline() == "locked\n"
        return process

    yield hold
    for process in processes:
        process.kill()
        process.wait()


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("held, mode, refused", [
    ("LOCK_EX", (), True),  # a training run in the folder: no second one
    ("LOCK_EX", ("--EVAL_ONLY",), True),  # nor an evaluation, whose log lines would interleave
    ("LOCK_SH", (), True),  # an evaluation or prediction in the folder: no training run
    ("LOCK_SH", ("--PREDICT_ONLY",), False),  # but predictions side by side
])
def test_a_run_into_a_folder_in_use_is_refused_at_once(tmp_path, holder, capsys, held, mode,
                                                       refused):
    tiny = make_tiny_run(tmp_path, deterministic=True)
    tiny.out.mkdir()
    other = holder(tiny.out, held)
    assert main.main(tiny.argv(*mode)) == (2 if refused else 0)
    if refused:
        line = _one_error_line(capsys)
        assert line == (f"error: another run (pid {other.pid}) is using --OUTPUT_DIR {tiny.out}; "
                        "wait for it to end, or give another OUTPUT_DIR")
        assert os.listdir(tiny.out) == []
    else:
        assert (tiny.out / "prediction.txt").is_file()
    other.kill()
    other.wait()
    assert not _is_locked(tiny.out)  # main let go of whatever it took


@pytest.mark.slow
def test_two_training_runs_started_at_once_then_the_one_killed_hard_resumes(tmp_path, capsys):
    """Both runs pass the checks while they read and tokenize the data; one trains, the other
    is refused. SIGKILL then stops the one training: the folder is not left locked, and the
    run finishes with --RESUME."""
    tiny = make_tiny_run(tmp_path)
    # ~15,000 rows: seconds of tokenizing between the "already holds a run" check and
    # progress.json, as wide a gap as the one the lock closes.
    small = (tiny.data_dir / "train.tsv").read_text(encoding="utf-8")
    rows = real_data("glue", "MRPC", "train.tsv").read_text(encoding="utf-8-sig").splitlines()
    (tiny.data_dir / "train.tsv").write_text("\n".join(rows[:1] + rows[1:] * 4) + "\n",
                                             encoding="utf-8")
    runs = [_start_main(tiny.argv()) for _ in range(2)]
    try:
        _wait_for(lambda: any(run.poll() is not None for run in runs), runs)
        refused, = [run for run in runs if run.poll() is not None]
        training, = [run for run in runs if run is not refused]
        assert refused.returncode == 2
        err = refused.stderr.read().strip().splitlines()
        assert len(err) == 1, err
        # Refused by the lock while the other tokenizes; if it came late, by the run there.
        assert err[0] in (
            f"error: another run (pid {training.pid}) is using --OUTPUT_DIR {tiny.out}; wait for "
            "it to end, or give another OUTPUT_DIR",
            f"error: --OUTPUT_DIR {tiny.out} already holds a training run (progress.json); use "
            "--RESUME or another OUTPUT_DIR"), err
        _wait_for(lambda: "Step 1/3: fine-tuning" in _log(tiny.out), [training])
        assert training.poll() is None

        # A --RESUME of the run while it still trains is refused too, naming the run.
        assert main.main(tiny.argv("--RESUME")) == 2
        assert f"another run (pid {training.pid}) is using" in _one_error_line(capsys)
    finally:
        for run in runs:
            run.send_signal(signal.SIGKILL)
            run.wait()
    assert _log(tiny.out).count("Arguments: ") == 1  # one run wrote the log
    assert not _is_locked(tiny.out)

    # --RESUME checks the arguments, not the data: the tiny train.tsv keeps the resume short.
    (tiny.data_dir / "train.tsv").write_text(small, encoding="utf-8")
    assert main.main(tiny.argv("--RESUME")) == 0
    for name in OUTPUTS:
        assert (tiny.out / name).is_file(), name
    assert "Step 3/3: re-training" in _log(tiny.out)
    capsys.readouterr()


def test_a_folder_that_cannot_be_locked_is_used_and_the_log_says_so(tmp_path, monkeypatch,
                                                                    capsys):
    tiny = make_tiny_run(tmp_path, deterministic=True)

    def no_locks(fd, operation):  # as flock on some network file systems answers
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr("fcntl.flock", no_locks)
    assert main.main(tiny.argv("--PREDICT_ONLY")) == 0
    assert capsys.readouterr().err == ""
    assert (f"warning: --OUTPUT_DIR {tiny.out} cannot be locked (No locks available): nothing "
            "stops another run") in _log(tiny.out)


def _stopped_while_writing(process, out):
    """Stops `process` (SIGSTOP) while a step's .hdf5 is half-written: its temporary file is
    there and not yet renamed. Returns that file."""
    def temporary_hdf5():
        names = os.listdir(out) if out.is_dir() else []
        return next((out / name for name in names
                     if name.startswith(".") and ".hdf5." in name and name.endswith(".tmp")), None)

    while process.poll() is None:
        temp = temporary_hdf5()
        if temp is None:
            time.sleep(0.002)  # a write takes tens of milliseconds
            continue
        process.send_signal(signal.SIGSTOP)
        if temp.exists():
            return temp
        process.send_signal(signal.SIGCONT)  # renamed meanwhile: wait for the next step's
    raise AssertionError(f"the run ended ({process.returncode}) before it was caught writing")


@pytest.mark.slow  # a whole training run, in a second process and then resumed
def test_a_run_killed_hard_while_writing_leaves_a_temporary_file_that_the_resume_removes(
        tmp_path, capsys):
    """SIGKILL (the OOM killer's, or a power loss) half-way through a step's .hdf5: nothing runs
    in the process to remove its temporary file. The next run that takes the lock does, and
    its log says so."""
    tiny = make_tiny_run(tmp_path)
    run = _start_main(tiny.argv())
    try:
        temp = _stopped_while_writing(run, tiny.out)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert temp.exists()  # left by the dead run
    assert main.main(tiny.argv("--RESUME")) == 0
    assert [name for name in os.listdir(tiny.out) if name.endswith(".tmp")] == []
    resumed = _log(tiny.out).split("Arguments: ")[-1]
    assert (f"Removed 1 temporary file(s) that runs killed while writing left in {tiny.out}: "
            f"{temp.name}") in resumed
    capsys.readouterr()


def test_a_run_keeps_the_temporary_files_of_writers_that_may_be_alive(tmp_path):
    """An export into a folder inside OUTPUT_DIR (another process), an output this process is
    writing, and a file of another machine, whose processes this one cannot see: a run taking
    the lock removes none of them."""
    tiny = make_tiny_run(tmp_path, deterministic=True)
    tiny.out.mkdir()
    elsewhere = tiny.out / ".prediction.txt.power-bert-1@elsewhere.abcdefgh.tmp"
    elsewhere.touch()
    export = subprocess.Popen([sys.executable, "-c", _EXPORT_UNTIL_TOLD, str(tiny.out / "model")],
                              cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        exporting = Path(export.stdout.readline().strip())
        with replaced_atomically(tiny.out / "notes.txt") as mine:
            assert main.main(tiny.argv("--PREDICT_ONLY")) == 0
            assert Path(mine).exists() and exporting.is_dir() and elsewhere.exists()
        export.communicate("go on\n", timeout=HANG_S)
    finally:
        export.kill()
        export.wait()
    assert export.returncode == 0 and (tiny.out / "model").is_dir()
    log = _log(tiny.out)
    assert "Removed" not in log
    assert (f"Kept 1 temporary file(s) in {tiny.out} that runs on other machines wrote, which "
            f"may still be writing them: {elsewhere.name}; delete them once no run there is "
            "writing into this folder") in log
