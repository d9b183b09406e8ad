"""The three training steps: Soft-Extract training, two learning rates, weight hand-over."""

import ast
import dataclasses
import gc
import json
import math
import os
import re
import weakref

import keras
import numpy as np
import pytest
import tensorflow as tf

from checkpoints.hdf5 import read_hdf5_metadata, read_hdf5_weights
from data.features import Features
from data.tasks import TASKS
from extract_layers import RetentionConfiguration
import main
from modeling.bert import build_model, soft_extract_layers
from modeling.config import load_config
from modeling.flops import mass_weights
from scoring import evaluation
from tests.helpers import CONFIGS, SEQ_LEN, make_tiny_run, random_inputs
from training import fit, step_inputs, steps
from training.optimizer import BERT_RECIPE, AdamRecipe, PowerBertAdam, WarmupLinearDecay
from training.progress import PROGRESS

CONFIG = CONFIGS["bert"]


def batch(n=8, seed=3):
    tokens, segments, mask = random_inputs(CONFIG, batch=n, seed=seed)
    labels = (np.arange(n) % 2).astype(np.int32)
    return [tokens, segments, mask], labels


def test_schedule_warms_up_then_decays_linearly():
    schedule = WarmupLinearDecay(1e-3, total_steps=100)
    for step, expected in [(0, 0.0), (5, 5e-4), (9, 9e-4), (10, 9e-4), (40, 6e-4), (100, 0.0), (130, 0.0)]:
        assert float(schedule(step)) == pytest.approx(expected, abs=1e-9)


def test_gradients_reach_retention_parameters_and_bert_weights():
    model = build_model(CONFIG, SEQ_LEN, 2, search_lambda=1e-3)
    # Vary r so that every rank gets a distinct scale and the task loss depends on it.
    for layer in soft_extract_layers(model):
        layer.r.assign(np.linspace(1.0, 0.3, SEQ_LEN).astype(np.float32))
    inputs, labels = batch()
    with tf.GradientTape() as tape:
        probs = model(inputs, training=False)
        loss = keras.losses.sparse_categorical_crossentropy(labels, probs)
        loss = tf.reduce_mean(loss)
    variables = [layer.r for layer in soft_extract_layers(model)] + \
        [model.get_layer("Encoder-1-MultiHeadSelfAttention").Wq,
         model.get_layer("Embedding-Token").embeddings]
    grads = tape.gradient(loss, variables)
    for variable, grad in zip(variables, grads):
        assert grad is not None and float(tf.reduce_max(tf.abs(tf.convert_to_tensor(grad)))) > 0, \
            variable.path


def test_dev_scoring_traces_once_per_model_and_lets_the_model_go():
    model = build_model(CONFIG, SEQ_LEN, 2)
    features = Features(*random_inputs(CONFIG, batch=8))
    traces = []
    model.call = lambda *args, call=model.call, **kwargs: traces.append(1) or call(*args, **kwargs)
    scores = [evaluation.predict(model, features, 4, "batch") for _ in range(3)]
    # After every epoch of a step, the same model: traced once, and scoring as before.
    assert len(traces) == 1
    np.testing.assert_array_equal(scores[0], scores[2])
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None, "the cached forward pass keeps the model alive"


@pytest.mark.slow
@pytest.mark.parametrize("lr_bert,lr_retention", [(0.0, 0.05), (0.05, 0.0)])
def test_two_learning_rates(lr_bert, lr_retention):
    model = build_model(CONFIG, SEQ_LEN, 2, search_lambda=1e-2)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    model.compile(optimizer=PowerBertAdam(lr_bert, lr_retention, retention_variables=[
                      layer.r for layer in soft_extract_layers(model)]),
                  loss="sparse_categorical_crossentropy")
    inputs, labels = batch()
    model.fit(inputs, labels, epochs=3, batch_size=4, verbose=0)
    for v in model.trainable_variables:
        moved = not np.array_equal(v.numpy(), before[v.path])
        is_retention = "Soft-Extract" in v.path
        assert moved == (is_retention if lr_retention else not is_retention), v.path
        if is_retention:
            assert v.numpy().min() >= 0.0 and v.numpy().max() <= 1.0


def _adam_reference(values, steps_grads, rates, decayed, recipe, beta_1=0.9, beta_2=0.999):
    """NumPy: Keras's Adam after AdamW's decoupled decay (at the first rate, LR_BERT's) of the
    `decayed` weights, on gradients clipped to the recipe's global norm."""
    values = [np.array(v, np.float64) for v in values]
    m = [np.zeros_like(v) for v in values]
    v2 = [np.zeros_like(v) for v in values]
    for t, grads in enumerate(steps_grads, 1):
        norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
        scale = 1.0 if recipe.clip_norm is None else min(1.0, recipe.clip_norm / norm)
        for i, g in enumerate(grads):
            g = g * scale
            if decayed[i]:
                values[i] -= values[i] * recipe.weight_decay * rates[0]
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v2[i] = beta_2 * v2[i] + (1 - beta_2) * g * g
            alpha = rates[i] * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
            values[i] -= alpha * m[i] / (np.sqrt(v2[i]) + recipe.epsilon)
    return values


def test_bert_recipe_decays_kernels_alone_and_clips_the_global_norm():
    """Google BERT's fine-tuning recipe: kernels decay, biases and retention parameters do not;
    a first step's large gradients are clipped, which changes the second step's moments."""
    kernel, bias, r = (keras.Variable(np.full(shape, 0.5, np.float32))
                       for shape in ((2, 3), (3,), (4,)))
    lr, lr_r = 0.1, 0.01
    optimizer = PowerBertAdam(lr, lr_r, retention_variables=[r], recipe=BERT_RECIPE)
    rng = np.random.default_rng(0)
    steps_grads = [[scale * rng.normal(size=v.shape) for v in (kernel, bias, r)]
                   for scale in (10.0, 0.01)]  # global norms ~30 (clipped), ~0.03
    for grads in steps_grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g, "float32"), v)
                                   for g, v in zip(grads, (kernel, bias, r))])
    expected = _adam_reference([0.5 * np.ones(v.shape) for v in (kernel, bias, r)],
                               steps_grads, (lr, lr, lr_r), (True, False, False), BERT_RECIPE)
    for variable, want in zip((kernel, bias, r), expected):
        np.testing.assert_allclose(variable.numpy(), want, rtol=1e-5, atol=1e-7)


# Clipping makes Keras densify the gradient before the update; unclipped, the update itself
# gets the tf.IndexedSlices.
@pytest.mark.parametrize("recipe", [BERT_RECIPE, AdamRecipe(0.01, None, 1e-6)],
                         ids=["clipped", "unclipped"])
def test_a_sparse_gradient_updates_every_row_as_its_dense_gradient_would(recipe):
    """The token embeddings' gradient holds only the batch's rows (tf.IndexedSlices); Adam,
    as Hugging Face's, still moves every row: decay, and the moments of earlier steps."""
    import tensorflow as tf

    table = keras.Variable(np.full((5, 3), 0.5, np.float32))
    optimizer = PowerBertAdam(0.1, recipe=recipe)
    rng = np.random.default_rng(1)
    steps_rows = [np.array([1, 3]), np.array([3, 4])]
    steps_grads = []
    for rows in steps_rows:
        values = rng.normal(size=(len(rows), 3))
        optimizer.apply_gradients([(tf.IndexedSlices(tf.constant(values, tf.float32),
                                                     tf.constant(rows), (5, 3)), table)])
        dense = np.zeros((5, 3))
        dense[rows] = values
        steps_grads.append([dense])
    want, = _adam_reference([0.5 * np.ones((5, 3))], steps_grads, (0.1,), (True,), recipe)
    np.testing.assert_allclose(table.numpy(), want, rtol=1e-5, atol=1e-7)


def test_amsgrad_is_refused_rather_than_ignored_by_the_fused_update():
    with pytest.raises(ValueError, match="amsgrad"):
        PowerBertAdam(0.1, amsgrad=True)


def test_training_steps_take_the_bert_recipe():
    model = build_model(CONFIG, SEQ_LEN, 2)
    hp = step_inputs.Hyperparameters(epochs=1, batch_size=8, lr_bert=1e-4, lr_soft_extract=0.0,
                               lambda_=0.0)
    fit.compile_for_training(model, TASKS["mrpc"], hp, train_size=16)
    optimizer = model.optimizer
    assert (optimizer.weight_decay, optimizer.global_clipnorm, optimizer.epsilon) == (
        BERT_RECIPE.weight_decay, BERT_RECIPE.clip_norm, BERT_RECIPE.epsilon)


@pytest.mark.parametrize("group_by_length", [False, True])
def test_the_seed_draws_the_order_of_the_training_rows(group_by_length):
    rows = 40
    mask = (np.arange(SEQ_LEN)[None] < 2 + np.arange(rows)[:, None] % (SEQ_LEN - 2)).astype(
        np.int32)
    data = _rows_named_by_their_labels(mask)
    row_ids = np.arange(rows, dtype=np.int32)

    def order(seed):
        hp = step_inputs.Hyperparameters(epochs=2, batch_size=8, lr_bert=0.0, lr_soft_extract=0.0,
                                   lambda_=0.0, group_by_length=group_by_length, seed=seed)
        dataset, _ = fit.training_dataset(data, hp)
        return np.concatenate([labels.numpy() for _, labels in dataset])

    first = order(0)
    assert sorted(first) == sorted(np.tile(row_ids, 2))
    np.testing.assert_array_equal(order(0), first)
    assert not np.array_equal(order(1), first)


def test_the_training_batches_start_no_autotuning_thread():
    """tf.data's autotuning thread sleeps up to a minute between rounds and the iterator waits
    for it when destroyed: with it, a fit could return up to a minute after its last epoch,
    and Ctrl-C could take as long (benchmarks/results/fit_end_wait.md)."""
    hp = step_inputs.Hyperparameters(epochs=1, batch_size=8, lr_bert=0.0, lr_soft_extract=0.0,
                                     lambda_=0.0)
    data = _rows_named_by_their_labels(np.ones((16, SEQ_LEN), np.int32))
    dataset, _ = fit.training_dataset(data, hp)
    assert dataset.options().autotune.enabled is False


def _rows_named_by_their_labels(mask):
    """TaskData of all-ones tokens with `mask`, train and dev alike; row i's label is i."""
    tokens = np.ones(mask.shape, np.int32)
    features = Features(tokens, np.zeros_like(tokens), mask)
    row_ids = np.arange(len(mask), dtype=np.int32)
    return step_inputs.TaskData(features, row_ids, features, row_ids)


@pytest.mark.slow
def test_retention_parameters_stay_in_unit_interval_and_shrink_under_the_mass_penalty():
    model = build_model(CONFIG, SEQ_LEN, 2, search_lambda=1.0)
    model.compile(optimizer=PowerBertAdam(1e-4, retention_learning_rate=0.2, retention_variables=[
                      layer.r for layer in soft_extract_layers(model)]),
                  loss="sparse_categorical_crossentropy")
    inputs, labels = batch()
    model.fit(inputs, labels, epochs=4, batch_size=4, verbose=0)
    masses = []
    for layer in soft_extract_layers(model):
        r = layer.r.numpy()
        assert r.min() >= 0.0 and r.max() <= 1.0
        masses.append(r.sum())
    assert max(masses) < SEQ_LEN
    assert min(masses) < SEQ_LEN / 2  # the penalty, heavier in later blocks, took mass away


@pytest.mark.slow
def test_weight_hand_over_by_name_keeps_every_bert_weight(tmp_path):
    """With learning rates of 0, each step must pass the previous step's weights on unchanged."""
    task = TASKS["sst-2"]
    inputs, labels = batch(16)
    features = Features(*inputs)
    data = step_inputs.TaskData(features, labels, features, labels)
    hp = step_inputs.Hyperparameters(epochs=1, batch_size=8, lr_bert=0.0, lr_soft_extract=0.0,
                               lambda_=1e-3)
    task = dataclasses.replace(task, seq_len=SEQ_LEN)
    initial = build_model(CONFIG, SEQ_LEN, 2)
    reference = {layer.name: layer.get_weights() for layer in initial.layers if layer.weights}

    def load_initial(model):
        for name, arrays in reference.items():
            model.get_layer(name).set_weights(arrays)

    lines = []
    steps.train_power_bert(step_inputs.StepContext(CONFIG, task, data, hp, str(tmp_path),
                                                   lines.append), load_initial)
    for name in (steps.FINETUNE, steps.SEARCH, steps.RETRAINED):
        saved = read_hdf5_weights(tmp_path / name)
        for layer, arrays in reference.items():
            for a, b in zip(saved[layer], arrays):
                np.testing.assert_array_equal(a, b, err_msg=f"{name} {layer}")
    retention = [int(v) for v in re.search(r"Retention Configuration : \[(.*)\]",
                                           "\n".join(lines)).group(1).split(",")]
    assert retention == [SEQ_LEN] * CONFIG.num_hidden_layers  # r stayed 1.0


@pytest.mark.slow
def test_readme_training_command_on_minilm_and_real_mrpc(readme_training):
    """The README's command (few rows, short sequences) leaves every output and a full log."""
    out = readme_training.out
    for name in (steps.FINETUNE, steps.SEARCH, steps.RETRAINED, "log_file.txt"):
        assert (out / name).is_file()
    for picture in ("retention_configuration.png", "surviving_words.png", "surviving_text.png"):
        assert (out / picture).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    log = (out / "log_file.txt").read_text()
    retention = re.search(r"Retention Configuration : \[(.*)\]", log).group(1).replace(" ", "")
    assert [int(v) for v in retention.split(",")] != [48] * 6  # the search removed vectors


@pytest.mark.slow
def test_the_run_ends_with_bert_and_power_bert_side_by_side(readme_training):
    """The last lines: both models' dev metrics (those of the best epochs), the ideal speedup
    against both baselines (modeling.flops on the dev rows' lengths) and every file written."""
    out = readme_training.out
    log = (out / "log_file.txt").read_text()
    tail = log[log.index("Done. On the 48 dev rows:"):].splitlines()
    for step, column in (("Fine-tuning", 1), ("Re-training", 2)):
        best = dict(re.findall(r"(accuracy|f1) ([\d.]+)",
                               re.search(rf"{step} best epoch: dev (.*)", log).group(1)))
        for name, value in best.items():
            (row,) = [line.split() for line in tail if line.split()[:1] == [name]]
            assert row[column] == value
    retention = ast.literal_eval(
        re.search(r"^Retention Configuration : (\[.*\])$", log, re.MULTILINE).group(1))
    real, padded = re.search(r"FLOP reduction of this configuration on the dev set: "
                             r"([\d.]+)x against BERT on real lengths, ([\d.]+)x", log).groups()
    assert f"{real}x over BERT on real lengths (length-aware batches), {padded}x over BERT " \
        "padded to seq_len 48" in "\n".join(tail)
    assert retention != [48] * 6 and float(padded) > 1
    files = [line.strip() for line in tail[tail.index("  files written:") + 1:]]
    assert files and all(os.path.isfile(path) for path in files)
    assert {os.path.basename(path) for path in files} >= {
        steps.FINETUNE, steps.SEARCH, steps.RETRAINED, "log_file.txt"}


def test_summary_puts_each_model_in_its_own_column(tmp_path):
    """With metrics that differ (the tiny run's two models may score alike), BERT's are in the
    BERT column, PoWER-BERT's in the other, and the change is their difference."""
    import types

    from data.tasks import get_task
    from runs.run import summary_lines

    config = types.SimpleNamespace(task=get_task("mrpc"), bert_config=CONFIG,
                                   output_dir=str(tmp_path), hp=types.SimpleNamespace(
                                       distills=False, step_epochs=(5, 5, 4)))
    retention = RetentionConfiguration([128, 64, 32, 16, 8, 4][:CONFIG.num_hidden_layers])
    lines = summary_lines(config, np.array([20, 40, 60]), {"loss": 0.5, "f1": 0.80}, retention,
                          {"loss": 0.6, "f1": 0.75}, [])
    (row,) = [line.split() for line in lines if line.split()[:1] == ["f1"]]
    assert row[1:] == ["80.00", "75.00", "-5.00"]
    # The budgets are named, since they differ: BERT's 5 epochs against 5 + 5 + 4.
    assert "  epochs: BERT 5 (step 1); PoWER-BERT 5 + 5 (search) + 4 (re-training) = 14" in lines


def original_log_value(log, prefix):
    """What a script written for the original reads from its log: the list after `prefix`."""
    (line,) = [line for line in log.splitlines() if line.startswith(prefix)]
    return ast.literal_eval(line[len(prefix):])


@pytest.mark.slow
def test_log_has_the_originals_lines_parsable_as_its_scripts_parse_them(readme_training):
    log = (readme_training.out / "log_file.txt").read_text()
    for step, ours in (("Fine-tuned", "Fine-tuning"), ("Re-trained", "Re-training")):
        values = original_log_value(
            log, f" {step} model accuracies for all epochs on the Dev set:")
        # One value per epoch: the dev accuracy as a fraction, as Keras 2 logged it.
        logged = [float(v) for v in re.findall(rf"{ours} epoch \d+: dev .*accuracy ([\d.]+)", log)]
        assert len(values) == len(logged) == 1
        assert values == pytest.approx([v / 100 for v in logged], abs=5e-5)
    retention = original_log_value(log, " Retention Configuration :")
    ours = re.search(r"^Retention Configuration : (\[.*\])$", log, re.MULTILINE).group(1)
    assert retention == ast.literal_eval(ours) and len(retention) == 6


@pytest.mark.slow
def test_files_record_their_retention_configuration(readme_training):
    log = (readme_training.out / "log_file.txt").read_text()
    retention = ast.literal_eval(
        re.search(r"^Retention Configuration : (\[.*\])$", log, re.MULTILINE).group(1))
    expected = {steps.FINETUNE: None, steps.SEARCH: retention, steps.RETRAINED: retention}
    for name, recorded in expected.items():
        record = read_hdf5_metadata(readme_training.out / name)
        assert {key: record.get(key) for key in ("task", "seq_len", "retention_configuration")} \
            == {"task": "mrpc", "seq_len": 48, "retention_configuration": recorded}, name


@pytest.mark.slow
def test_eval_only_without_retention_config_uses_the_recorded_one(readme_training):
    """EVAL_ONLY of retrained.hdf5, no --RETENTION_CONFIG, reproduces the logged dev metrics."""
    out = readme_training.out
    log = (out / "log_file.txt").read_text()
    retention = re.search(r"^Retention Configuration : (\[.*\])$", log, re.MULTILINE).group(1)
    logged = re.search(r"Re-training best epoch: dev (.*)", log).group(1)
    checkpoint = ["--CHECKPOINT_PATH", str(out / steps.RETRAINED), "--EVAL_ONLY",
                  "--MODEL_FORMAT", "HDF5", "--BATCH_SIZE", "16"]
    assert main.main(readme_training.common + checkpoint) == 0
    evaluated = (out / "log_file.txt").read_text()[len(log):]
    assert f"RETENTION_CONFIG not given: using {retention}, which " in evaluated
    assert f"Retention Configuration : {retention}" in evaluated
    assert f"dev metrics over all 48 examples: {logged}" in evaluated

    # A configuration given on the command line wins, with a note.
    other = ",".join(["48"] * 6)
    log = (out / "log_file.txt").read_text()
    assert main.main(readme_training.common + checkpoint + ["--RETENTION_CONFIG", other]) == 0
    evaluated = (out / "log_file.txt").read_text()[len(log):]
    assert f"RETENTION_CONFIG {[48] * 6} given: it replaces {retention}" in evaluated
    assert f"Retention Configuration : {[48] * 6}" in evaluated


@pytest.mark.slow
def test_the_same_command_twice_trains_the_same_weights(tmp_path):
    """--SEED's default makes runs reproducible: weights and logged metrics are identical;
    another --SEED draws other dropout and initial weights."""
    run = make_tiny_run(tmp_path)  # dropout on and a fresh classifier: the seed matters
    outs = {name: tmp_path / name for name in ("first", "again", "seed1")}
    for name, out in outs.items():
        extra = ["--SEED", "1"] if name == "seed1" else []
        assert main.main(run.argv(*extra, out=out)) == 0
    weights = {name: {file: read_hdf5_weights(out / file)
                      for file in (steps.FINETUNE, steps.SEARCH, steps.RETRAINED)}
               for name, out in outs.items()}
    for file, first in weights["first"].items():
        second = weights["again"][file]
        assert first.keys() == second.keys()
        for layer in first:
            for a, b in zip(first[layer], second[layer]):
                np.testing.assert_array_equal(a, b, err_msg=f"{file} {layer}")
    first, other = weights["first"][steps.RETRAINED], weights["seed1"][steps.RETRAINED]
    assert any(not np.array_equal(a, b) for layer in first
               for a, b in zip(first[layer], other[layer]))

    def metric_lines(out):  # the training's lines
        return [line for line in (out / "log_file.txt").read_text().splitlines()
                if line.startswith(("Fine-tuning ", "Re-training ", " Fine-tuned ",
                                    " Re-trained ", " Retention Configuration :", "FLOP "))]

    assert metric_lines(outs["again"]) == metric_lines(outs["first"])
    assert len(metric_lines(outs["first"])) >= 6


@pytest.mark.slow
def test_mass_penalty_flops_reaches_the_search_and_is_recorded(tmp_path, monkeypatch, capsys):
    run = make_tiny_run(tmp_path, deterministic=True)
    weights_given = []
    build = steps.build_model
    monkeypatch.setattr(steps, "build_model", lambda *args, **kwargs: weights_given.append(
        kwargs.get("mass_weights")) or build(*args, **kwargs))
    assert main.main(run.argv("--MASS_PENALTY", "flops")) == 0
    # Step 1 and step 3 have no penalty; step 2's weights are the FLOPs of the tiny BERT at
    # the task's seq_len (24), not j.
    expected = mass_weights(load_config(run.config), 24)
    assert expected != pytest.approx([1.0, 2.0])
    assert weights_given == [None, expected, None]
    log = (run.out / "log_file.txt").read_text()
    assert "(--MASS_PENALTY flops), not by j: " + ", ".join(f"{w:.3f}" for w in expected) in log
    assert json.loads((run.out / PROGRESS).read_text())["arguments"]["MASS_PENALTY"] == "flops"
    # A resume under the paper's penalty would finish a search made under another: refused.
    os.remove(run.out / steps.RETRAINED)
    capsys.readouterr()
    assert main.main(run.argv("--RESUME")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MASS_PENALTY flops then, None now" in err[0], err
    # Scoring and predicting have no search to weight.
    for mode in ("--EVAL_ONLY", "--PREDICT_ONLY"):
        assert main.main(run.argv("--MASS_PENALTY", "flops", mode, out=tmp_path / mode)) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--MASS_PENALTY shapes the configuration search" in err[0]
        assert not (tmp_path / mode).exists()


@pytest.mark.slow
def test_search_and_retrain_epoch_lengthen_their_steps_alone_and_are_recorded(
        tmp_path, monkeypatch, capsys):
    run = make_tiny_run(tmp_path, deterministic=True)
    schedules = []  # (epochs the step fits, optimizer steps its learning rate decays over)
    compile_ = steps.compile_for_training

    def compile_for_training(model, task, hp, train_size, **kwargs):
        schedules.append((hp.epochs, hp.epochs * math.ceil(train_size / hp.batch_size)))
        return compile_(model, task, hp, train_size, **kwargs)

    monkeypatch.setattr(steps, "compile_for_training", compile_for_training)
    # argv gives --EPOCH 1
    assert main.main(run.argv("--SEARCH_EPOCH", "2", "--RETRAIN_EPOCH", "3")) == 0
    batches = math.ceil(32 / 16)  # 32 training rows, batches of 16
    assert schedules == [(1, batches), (2, 2 * batches), (3, 3 * batches)]
    log = (run.out / "log_file.txt").read_text()
    assert "Step 2/3: configuration search, 2 epochs" in log
    assert "Step 3/3: re-training, 3 epochs" in log and "Re-training epoch 3:" in log
    assert "Fine-tuning epoch 2:" not in log
    assert "  epochs: BERT 1 (step 1); PoWER-BERT 1 + 2 (search) + 3 (re-training) = 6" in log
    accuracies = re.search(r" Re-trained model accuracies for all epochs on the Dev set:\[(.*)\]",
                           log).group(1)
    assert len(accuracies.split(",")) == 3
    recorded = json.loads((run.out / PROGRESS).read_text())["arguments"]
    assert (recorded["SEARCH_EPOCH"], recorded["RETRAIN_EPOCH"]) == (2, 3)
    # Resuming with another length of re-training would mix two runs: refused.
    os.remove(run.out / steps.RETRAINED)
    capsys.readouterr()
    assert main.main(run.argv("--RESUME", "--SEARCH_EPOCH", "2")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "RETRAIN_EPOCH 3 then, None now" in err[0], err
    for extra, message in ((["--RETRAIN_EPOCH", "0"], "--RETRAIN_EPOCH must be a positive"),
                           (["--SEARCH_EPOCH", "0"], "--SEARCH_EPOCH must be a positive"),
                           (["--RETRAIN_EPOCH", "2", "--EVAL_ONLY"],
                            "--RETRAIN_EPOCH is the length of re-training"),
                           (["--SEARCH_EPOCH", "2", "--PREDICT_ONLY"],
                            "--SEARCH_EPOCH is the length of the configuration search")):
        assert main.main(run.argv(*extra, out=tmp_path / "bad")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not (tmp_path / "bad").exists()
