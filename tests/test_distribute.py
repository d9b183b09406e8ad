"""--DISTRIBUTE mirrored: training over two devices gives the single-device weights."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from checkpoints.hdf5 import read_hdf5_weights
from training import steps

ROOT = Path(__file__).resolve().parents[1]


def test_mirrored_over_two_cpu_devices_trains_the_same_weights(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tests.distribute_worker", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    single = read_hdf5_weights(tmp_path / "single" / steps.FINETUNE)
    mirrored = read_hdf5_weights(tmp_path / "mirrored" / steps.FINETUNE)
    initial = read_hdf5_weights(tmp_path / "initial.hdf5")
    assert single.keys() == mirrored.keys()
    moved = 0.0
    for layer in single:
        for a, b, start in zip(single[layer], mirrored[layer], initial[layer]):
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=layer)
            moved = max(moved, float(np.abs(a - start).max()))
    assert moved > 1e-3  # training really changed the weights
