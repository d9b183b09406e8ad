"""Faults an operator meets: a full disk, a closed standard output, an OUTPUT_DIR that is a
symbolic link, shares given without a mode. Each ends in one line and exit 2, or in a run
that goes on; nothing an earlier run wrote is lost.

The full disk is a real one: a small tmpfs the test mounts (as root; skipped otherwise),
filled up at the moment a given output starts to be written.
"""

import errno
import hashlib
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import h5py
import pytest

from checkpoints.hdf5 import METADATA_ATTR, write_hdf5_weights
from checkpoints.load import load_weights
from deploy.export import main as export_main
import errors
import main
from modeling.bert import build_model
from modeling.config import load_config
from tests.helpers import HANG_S, make_tiny_run
from training import steps

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny checkpoint with a classifier: EVAL_ONLY and PREDICT_ONLY run on it directly."""
    return make_tiny_run(tmp_path_factory.mktemp("tiny"), deterministic=True)


class SmallDisk:
    """A tmpfs of a few MiB at `path`, which `fill` fills up to the last byte."""

    def __init__(self, path):
        self.path = path
        self.filler = path / "filler"

    def take_every_inode(self):
        for number in itertools.count():
            try:
                (self.path / f"inode-{number}").touch()
            except OSError as error:
                assert error.errno == errno.ENOSPC
                return

    def fill(self):
        with open(self.filler, "ab") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC

    def free(self):
        self.filler.unlink(missing_ok=True)


@pytest.fixture
def small_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,nr_inodes=1024", "tmpfs",
                              str(mount)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill_disk_when_written(monkeypatch, disk, name, inodes=False):
    """Fills `disk` right after the temporary file (or folder) for output `name` is made, so
    that its writer (Python, h5py or TensorFlow) meets the full disk itself; with `inodes`,
    takes its last inode right before, so that the temporary file cannot be made."""
    for maker in ("mkstemp", "mkdtemp"):
        real = getattr(tempfile, maker)

        def make(*args, real=real, prefix="", **kwargs):
            ours = prefix.startswith(f".{name}.")
            if ours and inodes:
                disk.take_every_inode()
            made = real(*args, prefix=prefix, **kwargs)
            if ours and not inodes:
                disk.fill()
            return made

        monkeypatch.setattr(tempfile, maker, make)


def _files(folder):
    """{relative path: sha256} of every file under `folder`."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_error_line(err, *needed):
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for text in needed:
        assert text in err, err


def test_disk_full_at_prediction_keeps_the_earlier_one(tiny, small_disk, monkeypatch, capsys):
    out = small_disk.path / "out"
    argv = tiny.argv("--PREDICT_ONLY", out=out)
    assert main.main(argv) == 0
    before = _files(out)
    capsys.readouterr()
    fill_disk_when_written(monkeypatch, small_disk, "prediction.txt")
    assert main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, "the disk is full", str(out / "prediction.txt"))
    after = _files(out)
    before.pop("log_file.txt"), after.pop("log_file.txt")  # appended to, as it should be
    assert after == before  # the earlier prediction.txt, and no temporary file


def test_a_run_stopped_by_a_fault_ends_its_log_with_the_error_line(tiny, small_disk,
                                                                   monkeypatch, capsys):
    """No inode left for prediction.txt: the log, which needs none to grow, is the record of
    the run and must not end with the predictions' timing, as if all went well."""
    out = small_disk.path / "out"
    fill_disk_when_written(monkeypatch, small_disk, "prediction.txt", inodes=True)
    assert main.main(tiny.argv("--PREDICT_ONLY", out=out)) == 2
    err = capsys.readouterr().err
    _one_error_line(err, "the disk is full", str(out / "prediction.txt"))
    assert (out / "log_file.txt").read_text().splitlines()[-1] == err.strip()


def test_a_test_tsv_that_is_a_named_pipe_is_read_as_a_stream(tiny, tmp_path):
    data_dir = tmp_path / "piped"
    data_dir.mkdir()
    pipe = data_dir / "test.tsv"
    os.mkfifo(pipe)
    writer = threading.Thread(target=pipe.write_bytes,
                              args=((tiny.data_dir / "test.tsv").read_bytes(),))
    writer.start()
    argv = tiny.argv("--PREDICT_ONLY", out=tmp_path / "out")
    argv[argv.index("--DATA_DIR") + 1] = str(data_dir)
    try:
        assert main.main(argv) == 0
    finally:
        if writer.is_alive():  # the run never opened the pipe: let the writer go
            os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))
        writer.join()
    assert len((tmp_path / "out" / "prediction.txt").read_text().splitlines()) == 32


@pytest.mark.slow
def test_disk_full_at_a_step_output_then_resume_finishes(tmp_path, small_disk, monkeypatch,
                                                         capsys):
    run = make_tiny_run(tmp_path)
    out = small_disk.path / "out"
    fill_disk_when_written(monkeypatch, small_disk, steps.RETRAINED)
    assert main.main(run.argv(out=out)) == 2
    _one_error_line(capsys.readouterr().err, "the disk is full", str(out / steps.RETRAINED))
    kept = _files(out)
    assert {steps.FINETUNE, steps.SEARCH, "progress.json"} <= set(kept)
    assert not [name for name in kept if name.endswith(".tmp")]
    monkeypatch.undo()
    small_disk.free()
    assert main.main(run.argv("--RESUME", out=out)) == 0
    finished = _files(out)
    assert steps.RETRAINED in finished
    assert all(finished[name] == kept[name] for name in (steps.FINETUNE, steps.SEARCH))


def test_disk_full_at_the_export_leaves_no_folder(tiny, small_disk, monkeypatch, capsys):
    target = small_disk.path / "exported"
    fill_disk_when_written(monkeypatch, small_disk, "exported")
    assert export_main(["--TASK", "mrpc", "--CHECKPOINT_PATH", str(tiny.checkpoint),
                        "--BERT_CONFIG_PATH", str(tiny.config), "--VOCAB_PATH", str(tiny.vocab),
                        "--TASK_CONFIG_PATH", str(tiny.task_config), str(target)]) == 2
    _one_error_line(capsys.readouterr().err, "the disk is full", str(target))
    assert sorted(os.listdir(small_disk.path)) == ["filler"]


# main.py in a fresh process each: the closed one only in the whole suite.
@pytest.mark.parametrize("stdout", ["reader gone", pytest.param("closed", marks=pytest.mark.slow)])
def test_a_closed_standard_output_does_not_stop_the_run(tiny, tmp_path, stdout):
    """As `main.py ... | head -0` (the reader is gone before the first line is printed), or
    `main.py ... >&-`."""
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "main.py", *tiny.argv("--PREDICT_ONLY", out=out)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=(lambda: os.close(1)) if stdout == "closed"
                               else None)
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=HANG_S) == 0, err
    assert err == ""  # not even the interpreter's "Exception ignored ... BrokenPipeError"
    assert len((out / "prediction.txt").read_text().splitlines()) == 32  # one per test row
    assert "Wrote" in (out / "log_file.txt").read_text()


def test_output_dir_through_a_link_to_a_folder_not_made_yet(tiny, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real" / "runs")
    assert main.main(tiny.argv("--EVAL_ONLY", out=link)) == 0
    assert link.is_symlink() and (tmp_path / "real" / "runs" / "log_file.txt").is_file()


def test_output_dir_that_is_a_link_loop_is_one_line(tiny, tmp_path, capsys):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert main.main(tiny.argv("--EVAL_ONLY", out=tmp_path / "a")) == 2
    _one_error_line(capsys.readouterr().err, "--OUTPUT_DIR", "symbolic link")


def test_shares_select_relative_mode_for_a_checkpoint_without_one(tiny, tmp_path):
    out = tmp_path / "out"
    assert main.main(tiny.argv("--EVAL_ONLY", "--RETENTION_CONFIG", "0.9,0.5", out=out)) == 0
    log = (out / "log_file.txt").read_text()
    assert "RETENTION_MODE relative (RETENTION_CONFIG holds shares" in log
    assert "Retention Configuration : [0.9, 0.5]" in log


def test_shares_run_an_original_hdf5_with_batch_padding(tiny, tmp_path):
    """The original's files run with padding to seq_len; shares of real lengths cannot."""
    config = load_config(tiny.config)
    model = build_model(config, 24, 2)
    load_weights(model, str(tiny.checkpoint), "CKPT", config, 24)
    original = tmp_path / "original.hdf5"
    write_hdf5_weights(original, model)
    with h5py.File(original, "a") as f:
        del f.attrs[METADATA_ATTR]  # what the original's Keras 2 files lack
    out = tmp_path / "out"
    argv = tiny.argv("--EVAL_ONLY", "--RETENTION_CONFIG", "1.0,0.4", out=out)
    argv[argv.index("--CHECKPOINT_PATH") + 1] = str(original)
    assert main.main(argv) == 0
    log = (out / "log_file.txt").read_text()
    assert "PADDING batch (what relative retention runs with)" in log


def test_shares_with_absolute_mode_name_the_mode(tiny, tmp_path, capsys):
    argv = tiny.argv("--EVAL_ONLY", "--RETENTION_CONFIG", "0.9,0.5", "--RETENTION_MODE",
                     "absolute", out=tmp_path / "out")
    assert main.main(argv) == 2
    _one_error_line(capsys.readouterr().err, "--RETENTION_MODE absolute", "--RETENTION_CONFIG",
                    "shares")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_every_entry_point_exits_130_on_an_interrupt(stop, capsys):
    def command():
        if stop == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    assert errors.exit_code(command, after_interrupt=lambda: "nothing was written") == 130
    assert capsys.readouterr().err == "error: interrupted; nothing was written\n"
    assert signal.getsignal(signal.SIGTERM) is before


def test_disk_full_while_converting_leaves_nothing_behind(small_disk, capsys):
    """The real MiniLM's 90 MB do not fit the 16 MiB disk: no injection needed."""
    from checkpoints.convert_hf import main as convert_main

    target = small_disk.path / "minilm"
    assert convert_main([str(target)]) == 2
    _one_error_line(capsys.readouterr().err, "the disk is full", str(target))
    assert os.listdir(small_disk.path) == []


def test_converting_into_a_file_is_one_line(tmp_path, capsys):
    from checkpoints.convert_hf import main as convert_main

    (tmp_path / "file").write_text("not a folder")
    assert convert_main([str(tmp_path / "file" / "minilm")]) == 2
    _one_error_line(capsys.readouterr().err, "cannot write", str(tmp_path / "file" / "minilm"))


@pytest.mark.parametrize("extra, needed", [
    (["--RETENTION_CONFIG", "1.5,0.5"], "has a share outside (0, 1]"),
    (["--RETENTION_CONFIG", "0.5,0.5", "--PADDING", "seq_len"],
     "--RETENTION_CONFIG 0.5,0.5 (shares: relative mode)"),
], ids=["share beyond 1", "shares with seq_len padding"])
def test_shares_that_cannot_run_are_one_line_naming_what_was_given(tiny, tmp_path, capsys, extra,
                                                                  needed):
    assert main.main(tiny.argv("--EVAL_ONLY", *extra, out=tmp_path / "out")) == 2
    _one_error_line(capsys.readouterr().err, needed)
    assert not (tmp_path / "out").exists()


def test_output_dir_on_a_file_system_without_folders_is_one_line(tiny, capsys):
    out = "/proc/power-bert-test/out"  # /proc takes no new folders, even from root
    assert main.main(tiny.argv("--EVAL_ONLY", out=out)) == 2
    _one_error_line(capsys.readouterr().err, "/proc/power-bert-test")


@pytest.mark.parametrize("fault, needed", [
    (OSError(errno.EROFS, os.strerror(errno.EROFS), "/data/out"),
     "/data/out: " + os.strerror(errno.EROFS)),
    (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/out/a.csv"),
     "the disk is full: /data/out/a.csv could not be written"),
], ids=["read-only", "full"])
def test_a_file_system_fault_no_check_foresaw_is_one_line(fault, needed, capsys):
    def command():
        raise fault

    assert errors.exit_code(command) == 2
    _one_error_line(capsys.readouterr().err, needed)
