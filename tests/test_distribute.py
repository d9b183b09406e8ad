"""--DISTRIBUTE mirrored and multi_worker train the weights a single device trains."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import main
from checkpoints.hdf5 import read_hdf5_weights
from tests.helpers import HANG_S, OUTPUTS, make_tiny_run
from training import steps

ROOT = Path(__file__).resolve().parents[1]
# Every test here trains whole runs, on one device and on several.
pytestmark = pytest.mark.slow


def _assert_same_weights(path_a, path_b, atol):
    a, b = read_hdf5_weights(path_a), read_hdf5_weights(path_b)
    assert a.keys() == b.keys()
    for layer in a:
        for x, y in zip(a[layer], b[layer]):
            np.testing.assert_allclose(x, y, atol=atol, err_msg=layer)


def test_mirrored_over_two_cpu_devices_trains_and_predicts_the_same(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.distribute_worker", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=HANG_S)
    assert done.returncode == 0, done.stderr[-3000:]
    _assert_same_weights(tmp_path / "single" / steps.FINETUNE,
                         tmp_path / "mirrored" / steps.FINETUNE, atol=1e-6)
    # Stopped after its first epoch and resumed from its epoch state, mirrored too: the same
    # best epoch, and the same weights after the last.
    assert "Resuming from" in done.stdout
    _assert_same_weights(tmp_path / "mirrored" / steps.FINETUNE,
                         tmp_path / "mirrored_resumed" / steps.FINETUNE, atol=1e-6)
    last, resumed = (np.load(tmp_path / name / "last.npz")
                     for name in ("mirrored", "mirrored_resumed"))
    assert len(last.files) == len(resumed.files) > 0
    for name in last.files:
        np.testing.assert_allclose(resumed[name], last[name], atol=1e-6, err_msg=name)
    single = read_hdf5_weights(tmp_path / "single" / steps.FINETUNE)
    initial = read_hdf5_weights(tmp_path / "initial.hdf5")
    moved = max(float(np.abs(a - start).max())
                for layer in single for a, start in zip(single[layer], initial[layer]))
    assert moved > 1e-3  # training really changed the weights
    single, mirrored = (np.load(tmp_path / name / "predictions.npy")
                        for name in ("single", "mirrored"))
    assert single.shape == (32, 2)
    np.testing.assert_allclose(mirrored, single, atol=1e-6)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_two_workers(run, timeout=HANG_S):
    """Runs main.py training as workers 0 (the chief) and 1 on 127.0.0.1; returns their
    (exit code, stdout + stderr) and the TMPDIR they shared."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    scratch = run.out.parent / "tmp"  # where the non-chief worker keeps its files while it runs
    scratch.mkdir()
    processes = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(scratch)}
        processes.append(subprocess.Popen(
            [sys.executable, "main.py", *run.argv("--DISTRIBUTE", "multi_worker")], cwd=ROOT,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        outputs = [process.communicate(timeout=timeout) for process in processes]
    finally:
        for process in processes:
            process.kill()
    return [(p.returncode, out, err) for p, (out, err) in zip(processes, outputs)], scratch


def test_two_workers_on_localhost_write_one_set_of_outputs(tmp_path):
    run = make_tiny_run(tmp_path, deterministic=True)
    results, scratch = _run_two_workers(run)
    for code, out, err in results:
        assert code == 0, (out + err)[-3000:]

    written = sorted(os.listdir(run.out))
    assert set(OUTPUTS) <= set(written), written
    log = (run.out / "log_file.txt").read_text()
    assert log.count("Step 1/3: fine-tuning") == 1  # the chief alone wrote the log
    assert list(scratch.iterdir()) == []  # the other worker's files are gone

    # BATCH_SIZE is the global batch, so one device trains the same weights.
    assert main.main(run.argv(out=tmp_path / "single")) == 0
    for name in (steps.FINETUNE, steps.SEARCH, steps.RETRAINED):
        _assert_same_weights(run.out / name, tmp_path / "single" / name, atol=1e-5)
    found = [line for line in log.splitlines() if line.startswith("Retention Configuration")]
    single_log = (tmp_path / "single" / "log_file.txt").read_text()
    assert found and found[0] in single_log


def test_a_worker_that_stops_stops_the_others_with_one_line(tmp_path):
    run = make_tiny_run(tmp_path)
    run.out.mkdir()
    (run.out / steps.FINETUNE).write_text("an earlier run's file")  # the chief refuses to start
    (chief, _, chief_err), (worker, _, worker_err) = _run_two_workers(run)[0]
    assert chief == 2 and "already holds a training run" in chief_err.splitlines()[-1]
    assert worker == 2, worker_err[-3000:]
    assert "Traceback" not in worker_err
    assert "another worker of this multi_worker run stopped" in worker_err.splitlines()[-1]
    assert os.listdir(run.out) == [steps.FINETUNE]
