"""The Keras model against a plain NumPy forward pass written from the paper (tiny configs)."""

import numpy as np
import pytest
import tensorflow as tf

from checkpoints.google import read_google_checkpoint, write_google_checkpoint
from checkpoints.assign import assign_weights
from extract_layers import (Extract, RetentionConfiguration, SoftExtract,
                            derive_retention_configuration)
from modeling.bert import build_model, input_signature, kept_positions_model, soft_extract_layers
from tests import numpy_reference
from tests.helpers import CONFIGS, SEQ_LEN, random_inputs, random_variables

RETENTIONS = {"bert": [16, 12, 6, 2], "bert-3-heads-relu": [10, 10, 5, 3, 1],
              "albert": [9, 4, 4]}


def load(model, config, tmp_path, num_labels=2, seed=0):
    variables = random_variables(config, num_labels, seed)
    prefix = str(tmp_path / "bert_model.ckpt")
    write_google_checkpoint(prefix, variables)
    assign_weights(model, read_google_checkpoint(prefix, config.num_hidden_layers, SEQ_LEN,
                                                 albert=config.is_albert))
    return variables


def reference(variables, config, inputs, retention):
    cfg = {k: v for k, v in config.to_dict().items()}
    return np.stack([numpy_reference.forward(variables, cfg, t, s, m, retention)
                     for t, s, m in zip(*inputs)])


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("reduced", [False, True], ids=["full", "reduced"])
def test_model_matches_numpy_reference(name, reduced, tmp_path):
    config = CONFIGS[name]
    retention = RETENTIONS[name] if reduced else None
    model = build_model(config, SEQ_LEN, 2, RetentionConfiguration(retention))
    variables = load(model, config, tmp_path)
    inputs = random_inputs(config)
    ours = model.predict(list(inputs), verbose=0)
    np.testing.assert_allclose(ours, reference(variables, config, inputs, retention), atol=2e-5)


def test_regression_head_matches_reference(tmp_path):
    config = CONFIGS["bert"]
    model = build_model(config, SEQ_LEN, 1, RetentionConfiguration(RETENTIONS["bert"]))
    variables = load(model, config, tmp_path, num_labels=1)
    inputs = random_inputs(config)
    ours = model.predict(list(inputs), verbose=0)
    assert ours.shape == (6, 1)
    np.testing.assert_allclose(ours, reference(variables, config, inputs, RETENTIONS["bert"]),
                               atol=2e-5)


def test_one_word_vector_per_block_matches_reference_without_warnings(tmp_path, recwarn):
    # From block 2 on, attention runs over the one kept vector ([CLS]).
    config = CONFIGS["bert"]
    retention = [SEQ_LEN // 2] + [1] * (config.num_hidden_layers - 1)
    model = build_model(config, SEQ_LEN, 2, RetentionConfiguration(retention))
    variables = load(model, config, tmp_path)
    inputs = random_inputs(config)
    ours = model.predict(list(inputs), verbose=0)
    np.testing.assert_allclose(ours, reference(variables, config, inputs, retention), atol=2e-5)
    assert [str(w.message) for w in recwarn if "softmax" in str(w.message)] == []


def test_full_retention_is_exactly_bert(tmp_path):
    config = CONFIGS["bert"]
    bert = build_model(config, SEQ_LEN, 2)
    load(bert, config, tmp_path)
    power = build_model(config, SEQ_LEN, 2, RetentionConfiguration([SEQ_LEN] * 4))
    power.set_weights(bert.get_weights())
    inputs = list(random_inputs(config))
    np.testing.assert_array_equal(power.predict(inputs, verbose=0), bert.predict(inputs, verbose=0))


def test_full_retention_traces_the_graph_of_bert():
    """main.py runs plain BERT as l_j = seq_len in every block: the baseline of every speedup
    must not pay for a run-time test of the batch's length, nor for a significance score."""
    config = CONFIGS["bert"]

    def op_types(model):
        forward = tf.function(lambda inputs: model(inputs, training=False),
                              input_signature=input_signature())
        return [node.op for node in forward.get_concrete_function().graph.as_graph_def().node]

    bert = op_types(build_model(config, SEQ_LEN, 2))
    power = op_types(build_model(config, SEQ_LEN, 2, RetentionConfiguration([SEQ_LEN] * 4)))
    assert {"StatelessIf", "If", "TopKV2"} & set(power) == set()
    # Beyond BERT's ops, only each input's length and its positions, which nothing reads.
    assert 0 <= len(power) - len(bert) <= 8, (len(power), len(bert))


def test_extract_keeps_cls_and_most_significant_in_text_order():
    # One head; attention received by key k (from the other words) is set by hand.
    n = 6
    received = np.array([0.0, 3.0, 0.5, 2.0, 4.0, 1.0])  # [CLS] scores lowest, yet is kept
    probs = np.tile(received / received.sum(), (n, 1))[None, None].astype(np.float32)
    x = np.arange(n, dtype=np.float32)[None, :, None] * np.ones((1, 1, 2), np.float32)
    mask = np.array([[1, 1, 1, 1, 1, 0]], np.int32)  # position 5 is padding
    positions = np.arange(n, dtype=np.int32)[None]
    kept_x, kept_mask, kept_pos = Extract(4)(x, probs, mask, positions)
    # Best others: 4 (4.0), 1 (3.0), 3 (2.0); padding 5 is out whatever its attention.
    np.testing.assert_array_equal(np.asarray(kept_pos), [[0, 1, 3, 4]])
    np.testing.assert_array_equal(np.asarray(kept_x)[0, :, 0], [0, 1, 3, 4])
    np.testing.assert_array_equal(np.asarray(kept_mask), [[1, 1, 1, 1]])
    # More vectors than real words: padding comes in last, and the mask says so.
    _, kept_mask, kept_pos = Extract(6 - 0)(x, probs, mask, positions)
    np.testing.assert_array_equal(np.asarray(kept_mask), mask)


def test_extracted_mask_follows_kept_positions(tmp_path):
    config = CONFIGS["bert"]
    model = build_model(config, SEQ_LEN, 2, RetentionConfiguration([14, 10, 8, 3]))
    load(model, config, tmp_path)
    inputs = random_inputs(config)
    kept = kept_positions_model(model).predict(list(inputs), verbose=0)
    mask = inputs[2]
    for block in kept:
        assert (block[:, 0] == 0).all()
        assert (np.diff(block, axis=1) > 0).all()  # text order
        for b in range(len(mask)):
            real = mask[b].sum()
            # Every real word outranks padding: padding is kept only once all words are.
            assert (block[b] < real).sum() == min(real, block.shape[1])


def test_soft_extract_scales_by_significance_rank():
    # An input of n = 5 < seq_len 8 uses the retention parameters of ranks 0..4.
    n = 5
    received = np.array([0.1, 1.0, 3.0, 2.0, 0.5])
    probs = np.tile(received / received.sum(), (n, 1))[None, None].astype(np.float32)
    layer = SoftExtract(8, 0.0, mass_weight=1)
    x = np.ones((1, n, 3), np.float32)
    layer(x, probs, np.ones((1, n), np.int32))
    r = np.array([1.0, 0.9, 0.7, 0.4, 0.2, 0.15, 0.1, 0.05], np.float32)
    layer.r.assign(r)
    out = np.asarray(layer(x, probs, np.ones((1, n), np.int32)))[0, :, 0]
    # Ranks: [CLS] 0, then 2 (3.0), 3 (2.0), 1 (1.0), 4 (0.5).
    np.testing.assert_allclose(out, [r[0], r[3], r[1], r[2], r[4]])


def test_soft_extract_with_all_r_one_is_bert(tmp_path):
    config = CONFIGS["bert"]
    bert = build_model(config, SEQ_LEN, 2)
    load(bert, config, tmp_path)
    search = build_model(config, SEQ_LEN, 2, search_lambda=1e-3)
    assign_weights(search, {layer.name: layer.get_weights() for layer in bert.layers},
                   optional=[layer.name for layer in soft_extract_layers(search)])
    inputs = list(random_inputs(config))
    np.testing.assert_allclose(search.predict(inputs, verbose=0), bert.predict(inputs, verbose=0),
                               atol=1e-6)
    # The mass penalty: LAMBDA * j * sum(r_j), with every r = 1 at the start.
    expected = sum(1e-3 * j * SEQ_LEN for j in range(1, 5))
    assert float(sum(search.losses)) == pytest.approx(expected, rel=1e-6)
    # --MASS_PENALTY flops: LAMBDA * w_j * sum(r_j) with the given weights instead of j.
    weights = [4.0, 3.0, 2.5, 0.5]
    flops_search = build_model(config, SEQ_LEN, 2, search_lambda=1e-3, mass_weights=weights)
    flops_search(inputs)
    assert [float(loss) for loss in flops_search.losses] == pytest.approx(
        [1e-3 * w * SEQ_LEN for w in weights], rel=1e-6)


def test_derive_retention_configuration():
    assert derive_retention_configuration([[1.0] * 8, [0.6] * 8, [0.9] * 8, [0.0] * 8]) == \
        [8, 4, 4, 1]
    assert derive_retention_configuration([[0.5, 0.49], [1.0, 1.0]]) == [1, 1]
