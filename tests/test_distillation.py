"""Distillation from the fine-tuned BERT (`--DISTILL`, `--TEMPERATURE`): the loss against a
NumPy computation of its formula, ALPHA 0 against the original's training, and --RESUME."""

import json
import os
import shutil
import signal

import h5py
import numpy as np
import pytest

import main
from checkpoints.hdf5 import METADATA_ATTR, read_hdf5_weights
from tests.helpers import make_tiny_run
from training import distillation, step_inputs, steps
from training.progress import PROGRESS


def _numpy_loss(alpha, temperature, labels, teacher, student):
    """The formula, written out: (1 - a) CE(labels, p) + a T^2 KL(q_T || p_T)."""
    def tempered(p):
        z = np.log(np.clip(p, 1e-7, 1.0)) / temperature
        z = z - z.max(axis=1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    task = -np.log(np.clip(student[np.arange(len(labels)), labels], 1e-7, 1.0))
    q, p = tempered(teacher), tempered(student)
    kl = np.sum(q * (np.log(q) - np.log(p)), axis=1)
    return (1 - alpha) * task + alpha * temperature ** 2 * kl


def _probabilities(rng, rows, classes):
    logits = rng.normal(scale=3.0, size=(rows, classes))
    return (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("alpha, temperature", [(0.5, 2.0), (1.0, 1.0), (0.3, 4.0), (0.0, 2.0)])
@pytest.mark.parametrize("classes", [2, 3])
def test_loss_equals_a_numpy_computation_of_the_formula(alpha, temperature, classes):
    rng = np.random.default_rng(classes)
    labels = rng.integers(0, classes, size=8)
    teacher, student = _probabilities(rng, 8, classes), _probabilities(rng, 8, classes)
    loss = distillation.distillation_loss(alpha, temperature, regression=False)
    got = np.asarray(loss(distillation.targets_with_teacher(labels, teacher), student))
    np.testing.assert_allclose(got, _numpy_loss(alpha, temperature, labels, teacher, student),
                               rtol=1e-5, atol=1e-6)
    if alpha:  # the teacher's term is there: another teacher, another loss
        other = np.asarray(loss(distillation.targets_with_teacher(labels, teacher[::-1]),
                                student))
        assert not np.allclose(other, got)


def test_regression_loss_is_squared_error_to_label_and_teacher():
    labels = np.array([0.5, 3.0, 4.5], np.float32)
    teacher = np.array([[1.0], [2.5], [4.0]], np.float32)
    scores = np.array([[0.0], [3.0], [5.0]], np.float32)
    loss = distillation.distillation_loss(0.25, 2.0, regression=True)
    got = np.asarray(loss(distillation.targets_with_teacher(labels, teacher), scores))
    expected = 0.75 * (labels - scores[:, 0]) ** 2 + 0.25 * (teacher[:, 0] - scores[:, 0]) ** 2
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.fixture
def tiny(tmp_path):
    return make_tiny_run(tmp_path, deterministic=True)


@pytest.fixture(scope="module")
def distilled(tmp_path_factory):
    """One tiny run with `--DISTILL --TEMPERATURE 3`, which several tests read."""
    run = make_tiny_run(tmp_path_factory.mktemp("distilled"), deterministic=True)
    assert main.main(run.argv("--DISTILL", "--TEMPERATURE", "3")) == 0
    return run


def _retrained(out):
    return read_hdf5_weights(out / steps.RETRAINED)


def _same_weights(a, b):
    return a.keys() == b.keys() and all(
        np.array_equal(x, y) for layer in a for x, y in zip(a[layer], b[layer]))


@pytest.mark.slow
def test_alpha_0_through_the_distillation_loss_trains_exactly_the_originals_weights(
        tiny, distilled, monkeypatch):
    assert main.main(tiny.argv(out=tiny.out / "original")) == 0
    original = _retrained(tiny.out / "original")
    with monkeypatch.context() as patch:
        # The distillation path (teacher scored, targets widened, the distillation loss) at
        # ALPHA 0, which --DISTILL 0 would not take.
        patch.setattr(step_inputs.Hyperparameters, "distills", property(lambda self: True))
        assert main.main(tiny.argv(out=tiny.out / "alpha0")) == 0
    assert (tiny.out / "alpha0" / distillation.TEACHER_OUTPUTS).is_file()
    assert _same_weights(_retrained(tiny.out / "alpha0"), original)
    # ...and the test can fail: a teacher that counts changes the weights.
    assert not _same_weights(_retrained(distilled.out), original)


@pytest.mark.slow
def test_distill_is_recorded_in_log_progress_and_hdf5(distilled, tmp_path, capsys):
    log = (distilled.out / "log_file.txt").read_text()
    assert f"--DISTILL given alone: ALPHA {distillation.DEFAULT_ALPHA}" in log
    assert "Step 2/3: configuration search, 1 epoch, distilling the fine-tuned BERT (ALPHA " \
        f"{distillation.DEFAULT_ALPHA:g}, TEMPERATURE 3)" in log
    assert "Teacher: the fine-tuned BERT scored the 32 training rows" in log
    arguments = json.loads((distilled.out / PROGRESS).read_text())["arguments"]
    assert arguments["DISTILL"] == distillation.DEFAULT_ALPHA
    assert arguments["TEMPERATURE"] == 3.0
    for name, expected in ((steps.FINETUNE, None), (steps.SEARCH, {
            "alpha": distillation.DEFAULT_ALPHA, "temperature": 3.0}), (steps.RETRAINED, {
            "alpha": distillation.DEFAULT_ALPHA, "temperature": 3.0})):
        with h5py.File(distilled.out / name, "r") as f:
            assert json.loads(f.attrs[METADATA_ATTR])["distillation"] == expected, name
    teacher = np.load(distilled.out / distillation.TEACHER_OUTPUTS)
    assert teacher.shape == (32, 2)
    np.testing.assert_allclose(teacher.sum(axis=1), 1.0, rtol=1e-5)
    # A resume with other distillation values would mix two runs: refused.
    copy = tmp_path / "copy"
    shutil.copytree(distilled.out, copy)
    os.remove(copy / steps.RETRAINED)
    capsys.readouterr()
    assert main.main(distilled.argv("--RESUME", "--DISTILL", "0.9", "--TEMPERATURE", "3",
                                    out=copy)) == 2
    assert "DISTILL 0.5 then, 0.9 now" in capsys.readouterr().err


@pytest.mark.slow
def test_resume_keeps_the_teachers_outputs(distilled, tmp_path, monkeypatch):
    flags = ("--DISTILL", "--TEMPERATURE", "3")
    resumed = tmp_path / "resumed"
    with monkeypatch.context() as patch:
        def terminate(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGTERM)
        patch.setattr(steps, "retrain", terminate)
        assert main.main(distilled.argv(*flags, out=resumed)) == 130
    teacher_file = resumed / distillation.TEACHER_OUTPUTS
    teacher = np.load(teacher_file)
    np.testing.assert_array_equal(teacher,
                                  np.load(distilled.out / distillation.TEACHER_OUTPUTS))
    with monkeypatch.context() as patch:
        def no_scoring(*args, **kwargs):
            raise AssertionError("the resumed run scored the teacher again")
        patch.setattr(distillation, "predict", no_scoring)
        assert main.main(distilled.argv(*flags, "--RESUME", out=resumed)) == 0
    assert "read from" in (resumed / "log_file.txt").read_text()
    np.testing.assert_array_equal(np.load(teacher_file), teacher)
    assert _same_weights(_retrained(resumed), _retrained(distilled.out))


@pytest.mark.slow
def test_a_damaged_teacher_file_is_one_line_on_resume(tiny, monkeypatch, capsys):
    with monkeypatch.context() as patch:
        patch.setattr(steps, "retrain",
                      lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGTERM))
        assert main.main(tiny.argv("--DISTILL")) == 130
    np.save(tiny.out / distillation.TEACHER_OUTPUTS, np.zeros((5, 2)))
    capsys.readouterr()
    assert main.main(tiny.argv("--DISTILL", "--RESUME")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not the teacher's outputs on 32 training rows" in err[0]


@pytest.mark.parametrize("flags, message", [
    (["--TEMPERATURE", "2"], "--TEMPERATURE is the temperature of --DISTILL"),
    (["--DISTILL", "1.5"], "--DISTILL 1.5 is not an ALPHA from 0 to 1"),
    (["--DISTILL", "0.5", "--TEMPERATURE", "-1"], "--TEMPERATURE must be a finite number > 0"),
    (["--DISTILL", "--EVAL_ONLY"], "--DISTILL shapes training"),
])
def test_bad_distillation_flags_are_one_line(tiny, capsys, flags, message):
    assert main.main(tiny.argv(*flags)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not tiny.out.exists()
