"""Length-aware batches (`--PADDING batch`) against inputs padded to seq_len.

With only real words voting in the significance score, a row's output cannot depend on the
padding it carries: a batch padded to its longest row, a row run alone, and every row padded
to seq_len must agree. The same comparison with padding votes (the original's score) must
fail, or it would not show that the score is what makes them agree.
"""

import dataclasses

import keras
import numpy as np
import pytest

from checkpoints.assign import assign_weights
from checkpoints.load import load_weights
from data.batches import inference_batches, training_order
from data.features import Features, encode
from data.glue import read_examples
from data.tasks import get_task
from extract_layers import RetentionConfiguration
from modeling.bert import build_model, soft_extract_layers
from scoring.evaluation import predict
from tests.data_paths import real_data
from tests.helpers import CONFIGS, SEQ_LEN, random_inputs
from tokenization import load_tokenizer
from training import fit, step_inputs

TOLERANCE = 1e-5
RETENTIONS = [None, [66, 50, 41, 9, 3, 1], [44, 23, 13, 2, 1, 1]]


@pytest.fixture(scope="module")
def mrpc_rows(fine_tuned_classifier):
    """Model inputs of 40 real MRPC dev rows, padded to seq_len 128."""
    examples = read_examples(get_task("mrpc"), str(real_data("glue", "MRPC")), "dev")[:40]
    return encode(examples, load_tokenizer(fine_tuned_classifier.vocab_path, cased=False), 128)


def minilm(fine_tuned, retention, padding):
    model = build_model(keras_config(fine_tuned), 128, 2,
                        RetentionConfiguration(retention, padding=padding))
    load_weights(model, str(fine_tuned.ckpt_prefix), "CKPT", keras_config(fine_tuned), 128)
    return model


def keras_config(fine_tuned):
    from modeling.config import load_config
    return load_config(str(fine_tuned.config_path))


def alone(model, features):
    """Each row run by itself (batches of one), cut to its real length."""
    return predict(model, features, 1, "batch")


# One configuration in the quick check (-m "not slow"), the same as the mutation's below;
# BERT's batch padding is checked there too, against Hugging Face's BERT (test_inference_e2e).
@pytest.mark.parametrize("retention", [pytest.param(None, marks=pytest.mark.slow), RETENTIONS[1],
                                       pytest.param(RETENTIONS[2], marks=pytest.mark.slow)],
                         ids=lambda r: "bert" if r is None else ",".join(map(str, r)))
def test_batch_padding_equals_seq_len_padding(retention, fine_tuned_classifier, mrpc_rows):
    model = minilm(fine_tuned_classifier, retention, padding="batch")
    padded = predict(model, mrpc_rows, 16, "seq_len")
    batched = predict(model, mrpc_rows, 16, "batch")
    assert np.abs(batched - padded).max() < TOLERANCE
    assert np.abs(alone(model, mrpc_rows) - padded).max() < TOLERANCE


@pytest.mark.parametrize("retention", [RETENTIONS[1],
                                       pytest.param(RETENTIONS[2], marks=pytest.mark.slow)],
                         ids=lambda r: ",".join(map(str, r)))
def test_padding_votes_makes_outputs_depend_on_padding(retention, fine_tuned_classifier,
                                                       mrpc_rows):
    """The mutation: padding queries vote. Then the comparison above fails."""
    model = minilm(fine_tuned_classifier, retention, padding="seq_len")
    padded = predict(model, mrpc_rows, 16, "seq_len")
    batched = predict(model, mrpc_rows, 16, "batch")
    assert np.abs(batched - padded).max() > 100 * TOLERANCE


def test_inference_batches_group_by_length_and_cover_every_row():
    lengths = np.array([5, 30, 7, 30, 12, 3, 9])
    batches = inference_batches(lengths, 3, "batch")
    assert sorted(np.concatenate(batches).tolist()) == list(range(7))
    assert [lengths[b].tolist() for b in batches] == [[30, 30, 12], [9, 7, 5], [3]]
    assert [b.tolist() for b in inference_batches(lengths, 3, "seq_len")] == \
        [[0, 1, 2], [3, 4, 5], [6]]


def test_training_order_keeps_the_originals_batches_or_groups_by_length():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 120, 1000)
    plain = training_order(lengths, 32, 2, False, seed=7)
    expected = np.random.default_rng(7)
    np.testing.assert_array_equal(plain, [expected.permutation(1000), expected.permutation(1000)])
    grouped = training_order(lengths, 32, 2, True, seed=7)
    for epoch in grouped:
        assert sorted(epoch.tolist()) == list(range(1000))
        full = epoch[:31 * 32].reshape(31, 32)
        spread = lengths[full].max(1) - lengths[full].min(1)
        # Sorted within 50-batch megabatches: each batch spans a narrow band of lengths.
        assert np.median(spread) < 10
        # Shuffled batch by batch: not sorted from longest to shortest.
        assert not np.all(np.diff(lengths[full].max(1)) <= 0)
    assert not np.array_equal(grouped[0], grouped[1])


@pytest.mark.slow
@pytest.mark.parametrize("search", [True, False], ids=["configuration search", "re-training"])
def test_training_steps_give_the_same_weights_with_either_padding(search):
    """A few steps on batches cut to their longest row vs rows padded to seq_len, with the
    same significance score (real words vote): the same rows per step give the same weights."""
    config = CONFIGS["bert"]  # no dropout: the two runs would draw different masks
    tokens, segments, mask = random_inputs(config, batch=24, seed=5)
    mask[:, 12:] = 0  # no row fills seq_len, so batch padding really cuts
    tokens[mask == 0] = 0
    features = Features(tokens, segments * mask, mask)
    labels = (np.arange(24) % 2).astype(np.int32)
    data = step_inputs.TaskData(features, labels, features, labels)
    task = dataclasses.replace(get_task("sst-2"), seq_len=SEQ_LEN)
    start = build_model(config, SEQ_LEN, 2)
    weights = {layer.name: layer.get_weights() for layer in start.layers if layer.weights}
    trained = {}
    for padding in ("batch", "seq_len"):
        hp = step_inputs.Hyperparameters(epochs=1, batch_size=8, lr_bert=1e-3,
                                         lr_soft_extract=0.05, lambda_=1e-2, padding=padding)
        keras.utils.set_random_seed(1)
        model = build_model(config, SEQ_LEN, 2,
                            RetentionConfiguration(None if search else [10, 7, 4, 2]),
                            search_lambda=hp.lambda_ if search else None)
        assign_weights(model, weights, optional=[layer.name for layer in
                                                 soft_extract_layers(model)])
        fit.compile_for_training(model, task, hp, len(labels),
                                 retention_lr=hp.lr_soft_extract if search else None)
        before = model.get_weights()
        fit.fit(model, data, hp)
        trained[padding] = model.get_weights()
        # Trained far beyond the tolerance the two paddings are compared at, so that their
        # agreement says something (BERT's recipe clips, so three steps move less than 1e-3).
        assert max(np.abs(a - b).max() for a, b in zip(before, trained[padding])) > 5e-4
    for a, b in zip(trained["batch"], trained["seq_len"]):
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("flags,message", [
    (["--GROUP_BY_LENGTH", "--PADDING", "seq_len"], "--PADDING seq_len pads every input"),
    (["--GROUP_BY_LENGTH", "--EVAL_ONLY"], "--GROUP_BY_LENGTH shapes training batches"),
    (["--PADDING", "none"], "argument --PADDING: invalid choice"),
])
def test_padding_flag_errors_are_one_line(flags, message, tmp_path, capsys):
    import main

    argv = ["--TASK", "mrpc", "--DATA_DIR", str(real_data("glue", "MRPC")), "--OUTPUT_DIR",
            str(tmp_path / "out"), *flags]
    assert main.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists()
