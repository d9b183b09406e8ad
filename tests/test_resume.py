"""Interrupting a training run (Ctrl-C or SIGTERM) and finishing it with --RESUME.

A tiny random BERT (written as a Google checkpoint), a vocab of the words of a few real MRPC
rows and short sequences keep each main.py run to seconds.
"""

import json
import os
import signal

import h5py
import keras
import numpy as np
import pytest

import main
from checkpoints.hdf5 import read_hdf5_weights
from tests.helpers import OUTPUTS, make_tiny_run
from training import steps
from training.epoch_state import EpochState
from errors import UserError
from training.progress import RunProgress, check_training_dir, epoch_state_file


@pytest.fixture
def tiny(tmp_path):
    return make_tiny_run(tmp_path)


def _sigterm_instead_of(monkeypatch, function_name):
    """Makes a step send this process SIGTERM, as `kill` or `timeout` would, when it starts."""
    def terminate(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not stop the run")
    monkeypatch.setattr(steps, function_name, terminate)


def _weights_equal(a, b):
    return a.keys() == b.keys() and all(
        np.array_equal(x, y) for layer in a for x, y in zip(a[layer], b[layer]))


@pytest.mark.slow
def test_sigterm_between_steps_then_resume_finishes_without_redoing_step_1(tiny, monkeypatch,
                                                                            capsys):
    handler = signal.getsignal(signal.SIGTERM)
    with monkeypatch.context() as patch:
        _sigterm_instead_of(patch, "configuration_search")
        assert main.main(tiny.argv()) == 130
    assert signal.getsignal(signal.SIGTERM) is handler  # main gave the handler back
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: interrupted")
    # Step 1 is complete and readable; step 2 left nothing, not even a temporary file.
    assert sorted(os.listdir(tiny.out)) == ["finetune.hdf5", "log_file.txt", "progress.json"]
    finetuned = read_hdf5_weights(tiny.out / steps.FINETUNE)
    assert "NSP" in finetuned and "Encoder-2-FeedForward" in finetuned
    first_mtime = (tiny.out / steps.FINETUNE).stat().st_mtime_ns
    first_log = (tiny.out / "log_file.txt").read_text()
    assert first_log.splitlines()[-1] == err[0]  # the log ends as stderr does

    # Resuming with a changed training flag would mix two runs: refused, nothing touched.
    assert main.main(tiny.argv("--RESUME", "--LAMBDA", "0.5")) == 2
    assert "LAMBDA 0.01 then, 0.5 now" in capsys.readouterr().err
    assert (tiny.out / "log_file.txt").read_text() == first_log

    assert main.main(tiny.argv("--RESUME")) == 0
    for name in OUTPUTS:
        assert (tiny.out / name).is_file(), name
    assert (tiny.out / steps.FINETUNE).stat().st_mtime_ns == first_mtime
    assert _weights_equal(read_hdf5_weights(tiny.out / steps.FINETUNE), finetuned)
    log = (tiny.out / "log_file.txt").read_text()
    assert log.startswith(first_log)  # appended to, not truncated
    resumed = log[len(first_log):]
    assert "Step 1/3: fine-tuning skipped" in resumed
    assert "Fine-tuning epoch" not in resumed
    assert "Step 2/3: configuration search" in resumed and "Step 3/3: re-training" in resumed
    assert "Retention Configuration" in resumed and "Re-training epoch 1" in resumed
    # Step 3 started from the search's weights: they share every BERT layer's shape.
    search = read_hdf5_weights(tiny.out / steps.SEARCH)
    assert "Encoder-1-MultiHeadSelfAttention-Soft-Extract" in search
    assert not [name for name in os.listdir(tiny.out) if name.endswith(".tmp")]

    # Now complete: a further --RESUME has nothing to do, a run without it must not start.
    for argv in (tiny.argv("--RESUME"), tiny.argv()):
        assert main.main(argv) == 2
    assert (tiny.out / "log_file.txt").read_text() == log


@pytest.mark.slow
def test_interrupt_while_writing_step_1_output_leaves_no_file(tiny, monkeypatch, capsys):
    """Ctrl-C half-way through writing the best epoch's weights: no finetune.hdf5, no temp file."""
    create_dataset = h5py.Group.create_dataset
    written = []

    def interrupted_after_three(self, *args, **kwargs):
        if len(written) == 3:
            raise KeyboardInterrupt
        written.append(create_dataset(self, *args, **kwargs))

    with monkeypatch.context() as patch:
        patch.setattr(h5py.Group, "create_dataset", interrupted_after_three)
        assert main.main(tiny.argv()) == 130
    assert sorted(os.listdir(tiny.out)) == ["log_file.txt", "progress.json"]
    assert len(written) == 3  # the interrupt came half-way through the file
    assert json.loads((tiny.out / "progress.json").read_text())["steps"] == {}
    capsys.readouterr()


def _weights(path):
    return {layer: [np.asarray(w) for w in weights]
            for layer, weights in read_hdf5_weights(path).items()}


@pytest.mark.slow
@pytest.mark.parametrize("step", ["fine-tuning", "configuration search"])
def test_resume_goes_on_from_the_last_finished_epoch_to_the_same_weights(tmp_path, monkeypatch,
                                                                         capsys, step):
    """Stopped after a step's first of two epochs, --RESUME trains only the second, and ends
    with the weights of a run never stopped: the optimizer, dropout's seeds and the best epoch
    so far came back with the epoch's state."""
    tiny = make_tiny_run(tmp_path)
    straight = tmp_path / "straight"
    assert main.main(tiny.argv("--EPOCH", "2", out=straight)) == 0
    write_state = EpochState.on_epoch_end

    def stop_after_first_epoch(self, epoch, logs=None):
        write_state(self, epoch, logs)
        if self.key["step"] == step and epoch == 0:
            os.kill(os.getpid(), signal.SIGTERM)

    with monkeypatch.context() as patch:
        patch.setattr(EpochState, "on_epoch_end", stop_after_first_epoch)
        assert main.main(tiny.argv("--EPOCH", "2")) == 130
    output = dict(steps.STEP_OUTPUTS)[step]
    state = epoch_state_file(output)
    assert (tiny.out / state).is_file() and not (tiny.out / output).exists()
    first_log = (tiny.out / "log_file.txt").read_text()
    assert main.main(tiny.argv("--EPOCH", "2", "--RESUME")) == 0
    resumed = (tiny.out / "log_file.txt").read_text()[len(first_log):]
    heading = {"fine-tuning": "Fine-tuning", "configuration search": None}[step]
    assert f"Resuming from {tiny.out / state}: 1 epoch of this step done" in resumed
    if heading:
        assert f"{heading} epoch 2:" in resumed and f"{heading} epoch 1:" not in resumed
    for name in OUTPUTS:
        assert (tiny.out / name).is_file(), name
    assert not [name for name in os.listdir(tiny.out) if "epoch_state" in name]
    for _, file in steps.STEP_OUTPUTS:
        ours, theirs = _weights(tiny.out / file), _weights(straight / file)
        assert ours.keys() == theirs.keys()
        for layer in ours:
            for x, y in zip(ours[layer], theirs[layer]):
                np.testing.assert_array_equal(x, y, err_msg=f"{file} {layer}")
    capsys.readouterr()


def test_an_epoch_state_is_read_back_only_for_its_own_key_and_model(tmp_path):
    """A state left by other arguments, or by a model of other shapes, is logged and left
    unread: the step starts from its first epoch."""
    def model(units=2):
        built = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units)])
        built.compile(optimizer="adam", loss="mse")
        built.optimizer.build(built.trainable_variables)
        return built

    path, log = tmp_path / "finetune.epoch_state.npz", []
    saved = model()
    writer = EpochState(path, {"step": "fine-tuning", "LAMBDA": 1}, None, log.append)
    writer.set_model(saved)
    writer.set_params({"epochs": 4})
    writer.on_epoch_end(3)
    assert not path.exists()  # not after the last epoch: the step's output follows at once
    writer.on_epoch_end(2)
    fresh = model()
    assert EpochState(path, {"step": "fine-tuning", "LAMBDA": 2}, None, log.append).restore(
        fresh) == 0
    assert not np.array_equal(fresh.get_weights()[0], saved.get_weights()[0])
    assert EpochState(path, writer.key, None, log.append).restore(model(units=4)) == 0
    assert log == [f"{path} does not fit this model; the step starts from its first epoch"]
    assert EpochState(path, writer.key, None, log.append).restore(fresh) == 3
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), saved.get_weights()))
    assert log[-1] == f"Resuming from {path}: 3 epochs of this step done"
    for damaged in (b"not a state", path.read_bytes()[:200]):
        path.write_bytes(damaged)
        assert EpochState(path, writer.key, None, log.append).restore(fresh) == 0
        assert log[-1].startswith(f"{path} is unreadable (")


def test_a_new_run_does_not_start_over_a_stopped_steps_epoch_state(tmp_path):
    """Even without progress.json, a stopped step's state marks the folder as a run's."""
    (tmp_path / epoch_state_file(steps.SEARCH)).write_bytes(b"")
    with pytest.raises(UserError, match=r"already holds a training run "
                                        r"\(configuration_search_model.epoch_state.npz\)"):
        check_training_dir(str(tmp_path), {}, False, steps.STEP_OUTPUTS, None)


def test_progress_forgets_later_steps_when_a_step_is_redone(tmp_path):
    """A redone step invalidates the steps built on its old output; a step needs its file."""
    progress = RunProgress(tmp_path)
    progress.start({"EPOCH": 1})
    for name, file in steps.STEP_OUTPUTS:
        (tmp_path / file).write_bytes(b"")
        progress.finish(name, {"done": name})
    (fine_tuning, _), (search, search_file), (retraining, retrained_file) = steps.STEP_OUTPUTS
    reread = RunProgress(tmp_path)
    assert reread.arguments == {"EPOCH": 1}
    assert reread.finished(retraining, retrained_file) == {"done": retraining}
    (tmp_path / search_file).unlink()
    assert reread.finished(search, search_file) is None
    reread.finish(search, {"done": "again"})
    assert RunProgress(tmp_path).record["steps"] == {fine_tuning: {"done": fine_tuning},
                                                     search: {"done": "again"}}
    assert RunProgress(tmp_path).finished(retraining, retrained_file) is None


@pytest.mark.parametrize("mode, stage, words", [
    ("--EVAL_ONLY", "scoring.evaluation.evaluate", "the dev set was not scored"),
    ("--PREDICT_ONLY", "runs.run.timed_predictions", "no prediction.txt was written"),
])
def test_interrupted_eval_or_predict_says_what_it_left(tmp_path, monkeypatch, capsys, mode,
                                                       stage, words):
    """Their interrupt message speaks of what they do, not of --RESUME (a training flag)."""
    run = make_tiny_run(tmp_path, deterministic=True)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, interrupted)
    assert main.main(run.argv(mode)) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: interrupted; " + words), err
    assert "RESUME" not in err[0] and "run the command again" in err[0]
    assert not (run.out / "prediction.txt").exists()
