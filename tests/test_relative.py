"""Relative retention: each input keeps a share of its own length (`--RETENTION_MODE relative`).

The Keras model against the plain NumPy forward pass of the rule, row by row, on real MRPC
and SST-2 rows, in batches of mixed lengths and each row alone; the share rule's
ceil(f * n), in the Keras model, the ONNX graph and the FLOP count, against exact fractions
on every IMDB test review.
"""

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from checkpoints.google import write_google_checkpoint
from checkpoints.load import load_weights
from data.batches import inference_batches
from data.features import encode
from data.glue import read_examples
from data.tasks import get_task
from deploy import onnx_graph, onnx_runtime
from errors import UserError
from extract_layers import (Extract, RetentionConfiguration, derive_relative_configuration,
                            parse_relative_configuration, relative_kept)
from extract_layers import extract
from extract_layers.retention import ceil_share, share_units
from modeling.bert import build_model, kept_positions_model
from modeling.config import BertConfig, load_config
from modeling.flops import forward_flops, total_flops
from scoring.evaluation import predict
from tests import numpy_reference
from tests.data_paths import real_data
from tests.helpers import MINILM_DIR, make_tiny_run, random_variables
from tokenization import load_tokenizer

# The last keeps everything in its first blocks, where the Extract layer only passes its
# inputs on.
SHARES = [[0.9, 0.7, 0.5, 0.3, 0.2, 0.1], [0.5, 0.35, 0.25, 0.1, 0.05, 0.05],
          [1.0, 1.0, 0.6, 0.3, 0.2, 0.1]]
# Shares whose float32 products land just above a whole number on many IMDB lengths (0.6 *
# 170, 0.3 * 340, 0.15 * 340): a float32 ceil kept one vector more there than ceil(f * n).
WHOLE_SHARES = [0.6, 0.3, 0.15, 0.15]
# A BERT of MiniLM's vocabulary and IMDB's seq_len, small enough that the NumPy reference runs
# all 1000 test reviews in seconds.
TINY_IMDB = BertConfig(vocab_size=30522, hidden_size=16, num_hidden_layers=len(WHOLE_SHARES),
                       num_attention_heads=2, intermediate_size=32, max_position_embeddings=512,
                       type_vocab_size=2, hidden_dropout_prob=0.0,
                       attention_probs_dropout_prob=0.0)


def relative(shares):
    """The relative `RetentionConfiguration` of `shares`."""
    return RetentionConfiguration(shares, mode="relative")


def test_relative_kept_follows_the_rule():
    assert relative_kept([0.7, 0.5, 0.5, 0.1], 10) == [7, 5, 5, 1]  # 0.7 * 10 is 7, not 8
    assert relative_kept([1.0, 0.34, 0.01], 3) == [3, 2, 1]
    assert relative_kept([0.9, 0.95], 20) == [18, 18]  # never more than the block before


def exact_kept(shares, n):
    """k_1..k_L of the rule in exact fractions of the shares as written."""
    kept, k = [], n
    for share in shares:
        k = min(k, max(1, math.ceil(Fraction(repr(share)) * n)))
        kept.append(k)
    return kept


def float32_kept(shares, n):
    """k_1..k_L as the Extract layer and the ONNX graph computed them before issue 38."""
    kept, k = [], n
    for share in shares:
        wanted = np.ceil(np.float32(share) * np.float32(n) - np.float32(1e-6))
        k = min(k, max(1, int(wanted)))
        kept.append(k)
    return kept


@pytest.fixture(scope="module")
def imdb_test():
    """Every review of the real IMDB test.tsv, as MiniLM's tokenizer encodes it at 512."""
    examples = read_examples(get_task("imdb"), str(real_data("imdb")), "test")
    return encode(examples, load_tokenizer(MINILM_DIR / "vocab.txt", cased=False), 512)


def test_share_rule_is_exact_on_every_imdb_length(imdb_test):
    lengths = np.unique(imdb_test.lengths)
    shares = [k / 1000 for k in range(1, 1001)] + [0.0001, 0.0625, 0.1875, 0.9999]
    for share in shares:
        want = [max(1, math.ceil(Fraction(repr(share)) * int(n))) for n in lengths]
        assert [relative_kept([share], int(n))[0] for n in lengths] == want, share
        np.testing.assert_array_equal(np.maximum(1, ceil_share(share, lengths)), want)
    assert ceil_share(0.15, 340) == 51 and ceil_share(0.7, 10) == 7 and ceil_share(0.1, 10) == 1
    with pytest.raises(ValueError):
        share_units(0.12345)  # the rule reads no fifth decimal, so it takes none
    with pytest.raises(ValueError):
        Extract(0.33333, relative=True)


def test_parse_and_derive_relative_configurations():
    assert parse_relative_configuration("0.9,0.7,0.5", 3) == [0.9, 0.7, 0.5]
    assert parse_relative_configuration("0.9,0.15,0.0001", 3) == [0.9, 0.15, 0.0001]
    for bad in ("0.9,0.7", "0.9,1.2,0.5", "0.5,0.7,0.1", "0,0,0", "a,b,c", "0.9,0.7,0.12345"):
        with pytest.raises(UserError):
            parse_relative_configuration(bad, 3)
    r = [np.full(8, 0.75), np.r_[np.ones(4), np.zeros(4)], np.full(8, 0.9), np.zeros(8)]
    assert derive_relative_configuration(r) == [0.75, 0.5, 0.5, 0.125]


def rows(task_name, count, seq_len, vocab):
    examples = read_examples(get_task(task_name), str(real_data("glue", task_name.upper())), "dev")
    return encode(examples[:count], load_tokenizer(vocab, cased=False), seq_len)


# The quick check (-m "not slow") runs one configuration per task: small shares, two blocks
# alike; all blocks kept at first. The whole suite crosses them all.
@pytest.mark.parametrize("shares,task_name,seq_len", [
    (SHARES[1], "sst-2", 64), (SHARES[2], "mrpc", 128),
    pytest.param(SHARES[0], "mrpc", 128, marks=pytest.mark.slow),
    pytest.param(SHARES[0], "sst-2", 64, marks=pytest.mark.slow),
    pytest.param(SHARES[1], "mrpc", 128, marks=pytest.mark.slow),
    pytest.param(SHARES[2], "sst-2", 64, marks=pytest.mark.slow),
], ids=lambda v: ",".join(map(str, v)) if isinstance(v, list) else str(v))
def test_relative_model_matches_numpy_reference_row_by_row(task_name, seq_len, shares,
                                                           fine_tuned_classifier):
    config = load_config(str(fine_tuned_classifier.config_path))
    model = build_model(config, seq_len, 2, relative(shares))
    load_weights(model, str(fine_tuned_classifier.ckpt_prefix), "CKPT", config, seq_len)
    features = rows(task_name, 16, seq_len, fine_tuned_classifier.vocab_path)
    assert np.ptp(features.lengths) > 10  # batches of mixed lengths
    variables = {k: np.asarray(v, np.float64) for k, v in fine_tuned_classifier.variables.items()}
    with threadpool_limits(1):
        want = np.array([numpy_reference.forward(variables, json.loads(
            fine_tuned_classifier.config_path.read_text()), *(x[i, :n] for x in (
                features.token_ids, features.segment_ids, features.input_mask)), shares,
            relative=True) for i, n in enumerate(features.lengths)])
    mixed = predict(model, features, 8, "seq_len")  # input order: lengths mixed in each batch
    grouped = predict(model, features, 8, "batch")
    alone = predict(model, features, 1, "batch")  # batches of one: each row alone
    for got in (mixed, grouped, alone):
        assert np.abs(got - want).max() < 1e-4
    bert = build_model(config, seq_len, 2)
    load_weights(bert, str(fine_tuned_classifier.ckpt_prefix), "CKPT", config, seq_len)
    assert np.abs(predict(bert, features, 8, "batch") - want).max() > 1e-3  # shares matter


def test_each_row_keeps_its_own_share(fine_tuned_classifier):
    config = load_config(str(fine_tuned_classifier.config_path))
    shares = SHARES[0]
    model = build_model(config, 128, 2, relative(shares))
    features = rows("mrpc", 8, 128, fine_tuned_classifier.vocab_path)
    batch = features.batch(np.arange(8), "batch")
    masks = [layer.output[1] for layer in model.layers if hasattr(layer, "relative")]
    import keras
    # Called eagerly, as predict would trace each model first.
    kept = kept_positions_model(model)(batch, training=False)
    kept_masks = keras.Model(model.inputs, masks)(batch, training=False)
    for b, n in enumerate(features.lengths):
        assert [int(np.asarray(m[b]).sum()) for m in kept_masks] == relative_kept(shares, int(n))
        assert int(kept[0][b][0]) == 0  # [CLS] first


@pytest.fixture(scope="module")
def tiny_imdb(tmp_path_factory):
    """A random TINY_IMDB at WHOLE_SHARES: (Google variables, the Keras model)."""
    variables = random_variables(TINY_IMDB, 2)
    prefix = tmp_path_factory.mktemp("tiny_imdb") / "model.ckpt"
    write_google_checkpoint(prefix, variables)
    model = build_model(TINY_IMDB, 512, 2, relative(WHOLE_SHARES))
    load_weights(model, str(prefix), "CKPT", TINY_IMDB, 512)
    return variables, model


def kept_per_block(model, features, batch_size=50):
    """(rows, blocks): the real vectors each Extract layer kept of each row, in batches of
    rows of similar length as main.py runs them."""
    import keras

    masks = keras.Model(model.inputs, [layer.output[1] for layer in model.layers
                                       if isinstance(layer, Extract)])
    kept = np.zeros((len(features), len(WHOLE_SHARES)), np.int64)
    order = np.argsort(features.lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        # Called eagerly: predict_on_batch would trace the model anew for every batch width.
        outputs = masks(features.batch(rows, "batch"), training=False)
        kept[rows] = np.stack([np.asarray(m).sum(axis=1) for m in outputs], axis=1)
    return kept


@pytest.fixture(scope="module")
def tiny_imdb_kept(imdb_test, tiny_imdb):
    """kept_per_block of TINY_IMDB on every IMDB test review."""
    return kept_per_block(tiny_imdb[1], imdb_test)


@pytest.fixture(scope="module")
def tiny_imdb_outputs(imdb_test, tiny_imdb):
    """TINY_IMDB's outputs on every IMDB test review, from Keras and from the ONNX graph."""
    _, model = tiny_imdb
    session = onnx_runtime.inference_session(
        onnx_graph.build_onnx_model(model, TINY_IMDB, relative(WHOLE_SHARES)))
    return predict(model, imdb_test, 50, "batch"), onnx_runtime.predict(session, imdb_test, 50)


def test_model_and_onnx_keep_the_exact_share_on_every_imdb_review(imdb_test, tiny_imdb_kept,
                                                                  tiny_imdb_outputs):
    lengths = [int(n) for n in imdb_test.lengths]
    want_kept = np.array([exact_kept(WHOLE_SHARES, n) for n in lengths])
    # The case the rule is for: rows where a float32 ceil overshot.
    assert sum(float32_kept(WHOLE_SHARES, n) != exact_kept(WHOLE_SHARES, n)
               for n in lengths) > 50
    np.testing.assert_array_equal(tiny_imdb_kept, want_kept)
    # One vector more or less moves a review's outputs by up to 1e-3 and more (see the rows
    # the rule leaves alone, below): agreeing to 1e-5, the graph keeps what the model keeps.
    keras_outputs, onnx_outputs = tiny_imdb_outputs
    assert np.abs(onnx_outputs - keras_outputs).max() < 1e-5


@pytest.mark.slow  # the float64 reference, one review at a time, on all 1000 of them
def test_relative_retention_equals_a_float64_reference_on_every_imdb_review(
        imdb_test, tiny_imdb, tiny_imdb_outputs):
    # float64 once here, so that the reference does not convert the tables for every review.
    variables = {name: np.asarray(value, np.float64) for name, value in tiny_imdb[0].items()}
    raw_config = {"num_attention_heads": TINY_IMDB.num_attention_heads,
                  "num_hidden_layers": TINY_IMDB.num_hidden_layers, "hidden_act": "gelu"}
    with threadpool_limits(1):
        want = np.array([numpy_reference.forward(
            variables, raw_config, *(x[i, :n] for x in imdb_test.inputs), WHOLE_SHARES,
            relative=True) for i, n in enumerate(imdb_test.lengths)])
    for got in tiny_imdb_outputs:  # Keras, ONNX
        assert np.abs(got - want).max() < 1e-5


def test_flop_count_counts_the_vectors_the_model_keeps(imdb_test, tiny_imdb_kept):
    kept = tiny_imdb_kept
    lengths = [int(n) for n in imdb_test.lengths]
    assert (total_flops(TINY_IMDB, lengths, relative(WHOLE_SHARES))
            == sum(forward_flops(TINY_IMDB, n, list(k)) for n, k in zip(lengths, kept)))


def test_rows_the_rule_leaves_alone_predict_bit_for_bit_as_before(imdb_test, tiny_imdb,
                                                                   tiny_imdb_outputs,
                                                                   monkeypatch):
    import tensorflow as tf

    _, model = tiny_imdb
    now, _ = tiny_imdb_outputs

    def float32_ceil_share(share, lengths):  # the Extract layer's rule before issue 38
        return tf.cast(tf.math.ceil(share * tf.cast(lengths, tf.float32) - 1e-6), tf.int32)

    monkeypatch.setattr(extract, "ceil_share", float32_ceil_share)
    before = build_model(TINY_IMDB, 512, 2, relative(WHOLE_SHARES))
    before.set_weights(model.get_weights())
    touched = np.array([float32_kept(WHOLE_SHARES, int(n)) != exact_kept(WHOLE_SHARES, int(n))
                        for n in imdb_test.lengths])
    np.testing.assert_array_equal(
        kept_per_block(before, imdb_test),
        [float32_kept(WHOLE_SHARES, int(n)) for n in imdb_test.lengths])
    was = predict(before, imdb_test, 50, "batch")
    # A batch keeps its rows' largest k_b, so a touched row's batch-mates carry one masked
    # vector more, which moves their outputs by float rounding only.
    mates = np.zeros(len(touched), bool)
    for rows in inference_batches(imdb_test.lengths, 50, "batch"):
        mates[rows] = touched[rows].any() & ~touched[rows]
    alone = ~touched & ~mates
    assert alone.sum() >= 400 and mates.any()
    assert np.array_equal(was[alone], now[alone])  # bit for bit
    assert np.abs(was[mates] - now[mates]).max() < 1e-6
    assert np.abs(was[touched] - now[touched]).max() > 1e-3  # the rows the fix is for


def test_relative_soft_extract_scales_by_the_bins_a_word_covers():
    import tensorflow as tf
    from extract_layers import SoftExtract

    # Row 0: 4 real words of 6 (each covers 2 of 8 bins); row 1: 3 real words.
    received = np.array([0.1, 3.0, 1.0, 2.0, 0.0, 0.0])
    probs = np.tile(received / received.sum(), (6, 1))[None, None].repeat(2, 0).astype(np.float32)
    mask = np.array([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]], np.int32)
    layer = SoftExtract(8, 0.0, mass_weight=1, relative=True)
    x = np.ones((2, 6, 1), np.float32)
    layer(x, probs, mask)
    r = np.array([1.0, 0.9, 0.8, 0.6, 0.5, 0.4, 0.2, 0.1], np.float32)
    layer.r.assign(r)
    with tf.GradientTape() as tape:
        out = layer(x, probs, mask)
        total = tf.reduce_sum(out * mask[:, :, None])
    out = np.asarray(out)[:, :, 0]
    # Row 0 ranks: [CLS] 0, position 1 (3.0) 1, position 3 (2.0) 2, position 2 (1.0) 3.
    np.testing.assert_allclose(out[0, :4], [r[0:2].mean(), r[2:4].mean(), r[6:8].mean(),
                                            r[4:6].mean()], rtol=1e-6)
    # Row 1, n = 3: rank k covers [8k/3, 8(k+1)/3): bins 0-2, 2-5, 5-7.
    np.testing.assert_allclose(out[1, :3], [r[0:3].mean(), r[2:6].mean(), r[5:8].mean()],
                               rtol=1e-6)
    assert (np.asarray(tape.gradient(total, layer.r)) > 0).all()  # every bin learns


@pytest.mark.slow
def test_relative_training_learns_shares_and_eval_reproduces_them(tmp_path):
    import ast
    import re

    from checkpoints.hdf5 import read_hdf5_metadata
    import main
    from training import steps

    # A tiny BERT on 32 real MRPC rows: the same code paths as a MiniLM run, in seconds.
    run = make_tiny_run(tmp_path)
    assert main.main(run.argv("--RETENTION_MODE", "relative", "--GROUP_BY_LENGTH",
                              "--LR_SOFT_EXTRACT", "0.05", "--LAMBDA", "0.05")) == 0
    log = (run.out / "log_file.txt").read_text()
    shares = ast.literal_eval(
        re.search(r"^Retention Configuration : (\[.*\])$", log, re.MULTILINE).group(1))
    assert len(shares) == 2 and all(0 < f <= 1 for f in shares) and shares != [1.0] * 2
    assert shares[1] <= shares[0]
    assert "against BERT on real lengths" in log
    assert f" Retention Configuration :{shares}" in log  # the original's spelling, as shares
    record = read_hdf5_metadata(run.out / steps.RETRAINED)
    assert (record["retention_mode"], record["retention_configuration"]) == ("relative", shares)
    logged = re.search(r"Re-training best epoch: dev (.*)", log).group(1)
    # Neither the mode nor the shares given: both come from retrained.hdf5's record.
    assert main.main(run.argv("--CHECKPOINT_PATH", str(run.out / steps.RETRAINED),
                              "--EVAL_ONLY")) == 0
    evaluated = (run.out / "log_file.txt").read_text()[len(log):]
    assert "RETENTION_MODE relative (what this .hdf5 file was trained with)" in evaluated
    assert f"dev metrics over all 32 examples: {logged}" in evaluated


def test_relative_mode_with_seq_len_padding_is_one_line(tmp_path, capsys):
    import main

    argv = ["--TASK", "mrpc", "--DATA_DIR", str(real_data("glue", "MRPC")), "--OUTPUT_DIR",
            str(tmp_path / "out"), "--RETENTION_MODE", "relative", "--PADDING", "seq_len",
            "--EVAL_ONLY", "--RETENTION_CONFIG", "0.9,0.7,0.5,0.3,0.2,0.1"]
    assert main.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runs with --PADDING batch" in err
    assert not (tmp_path / "out").exists()
