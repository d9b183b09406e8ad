"""checkpoints/google.py: reading Google BERT/ALBERT checkpoints into the model's layers.

Where a test checks the name table itself (MiniLM through Hugging Face's names, ALBERT's
shared block), the expected layer contents are spelled out here from docs/SPEC.md §4, not taken from
checkpoints/google.py's table: that independence is the point of those tests. The other
checkpoints are made from the table (`tests.helpers.random_variables`).
"""

import numpy as np
import pytest

from checkpoints.google import read_google_checkpoint, write_google_checkpoint
from errors import UserError
from modeling.config import BertConfig
from tests.helpers import MINILM_LAYERS, random_variables


def test_read_google_checkpoint_maps_minilm_to_layer_names(converted, hf_tensors):
    weights = read_google_checkpoint(converted / "bert_model.ckpt", MINILM_LAYERS, seq_len=128)
    t = hf_tensors
    expected = {
        "Embedding-Token": [t["embeddings.word_embeddings.weight"]],
        "Embedding-Segment": [t["embeddings.token_type_embeddings.weight"]],
        "Embedding-Position": [t["embeddings.position_embeddings.weight"][:128]],
        "Embedding-Norm": [t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"]],
        "NSP-Dense": [t["pooler.dense.weight"].T, t["pooler.dense.bias"]],
    }
    for i in range(MINILM_LAYERS):
        p = f"encoder.layer.{i}."
        expected[f"Encoder-{i + 1}-MultiHeadSelfAttention"] = [
            array for part in ("attention.self.query", "attention.self.key",
                               "attention.self.value", "attention.output.dense")
            for array in (t[p + part + ".weight"].T, t[p + part + ".bias"])]
        expected[f"Encoder-{i + 1}-MultiHeadSelfAttention-Norm"] = [
            t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"]]
        expected[f"Encoder-{i + 1}-FeedForward"] = [
            t[p + "intermediate.dense.weight"].T, t[p + "intermediate.dense.bias"],
            t[p + "output.dense.weight"].T, t[p + "output.dense.bias"]]
        expected[f"Encoder-{i + 1}-FeedForward-Norm"] = [
            t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"]]
    assert set(weights) == set(expected)  # no "NSP": a pre-trained model has no classifier
    assert weights["Embedding-Position"][0].shape == (128, 384)
    assert weights["Encoder-1-FeedForward"][0].shape == (384, 1536)
    for layer, arrays in expected.items():
        assert len(weights[layer]) == len(arrays), layer
        for got, want in zip(weights[layer], arrays):
            np.testing.assert_array_equal(got, want, err_msg=layer)


def tiny_bert():
    """Random variables of a tiny Google BERT checkpoint without a classifier."""
    config = BertConfig(vocab_size=11, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=20, type_vocab_size=2)
    variables = random_variables(config, num_labels=1)
    del variables["output_weights"], variables["output_bias"]
    return variables


def test_fine_tuned_checkpoint_fills_the_classifier(tmp_path):
    variables = tiny_bert()
    variables["output_weights"] = np.arange(24, dtype=np.float32).reshape(3, 8)
    variables["output_bias"] = np.array([1, 2, 3], np.float32)
    variables["global_step"] = np.array(7, np.int64)  # fine-tuned checkpoints carry extras
    write_google_checkpoint(tmp_path / "model.ckpt", variables)
    weights = read_google_checkpoint(tmp_path / "model.ckpt", 2, seq_len=16)
    np.testing.assert_array_equal(weights["NSP"][0], variables["output_weights"].T)
    np.testing.assert_array_equal(weights["NSP"][1], variables["output_bias"])
    np.testing.assert_array_equal(weights["Encoder-2-FeedForward"][2],
                                  variables["bert/encoder/layer_1/output/dense/kernel"])
    np.testing.assert_array_equal(weights["Embedding-Position"][0],
                                  variables["bert/embeddings/position_embeddings"][:16])


# ALBERT's names by hand, independent of checkpoints/google.py's table (see above).
def test_albert_checkpoint_maps_the_shared_block(tmp_path):
    rng = np.random.default_rng(1)
    e, h, i, g = 4, 8, 16, "bert/encoder/transformer/group_0/inner_group_0/"
    shapes = {"bert/embeddings/word_embeddings": (30, e),
              "bert/embeddings/token_type_embeddings": (2, e),
              "bert/embeddings/position_embeddings": (12, e),
              "bert/embeddings/LayerNorm/gamma": (e,), "bert/embeddings/LayerNorm/beta": (e,),
              "bert/encoder/embedding_hidden_mapping_in/kernel": (e, h),
              "bert/encoder/embedding_hidden_mapping_in/bias": (h,),
              g + "ffn_1/intermediate/dense/kernel": (h, i), g + "ffn_1/intermediate/dense/bias": (i,),
              g + "ffn_1/intermediate/output/dense/kernel": (i, h),
              g + "ffn_1/intermediate/output/dense/bias": (h,),
              g + "LayerNorm/gamma": (h,), g + "LayerNorm/beta": (h,),
              g + "LayerNorm_1/gamma": (h,), g + "LayerNorm_1/beta": (h,),
              "bert/pooler/dense/kernel": (h, h), "bert/pooler/dense/bias": (h,)}
    for part in ("self/query", "self/key", "self/value", "output/dense"):
        shapes[f"{g}attention_1/{part}/kernel"], shapes[f"{g}attention_1/{part}/bias"] = (h, h), (h,)
    v = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}
    write_google_checkpoint(tmp_path / "model.ckpt.1", v)
    weights = read_google_checkpoint(tmp_path / "model.ckpt.1", 12, seq_len=10, albert=True)
    a = g + "attention_1/"
    expected = {
        "Embedding-Token": [v["bert/embeddings/word_embeddings"]],
        "Embedding-Segment": [v["bert/embeddings/token_type_embeddings"]],
        "Embedding-Position": [v["bert/embeddings/position_embeddings"][:10]],
        "Embedding-Norm": [v["bert/embeddings/LayerNorm/gamma"], v["bert/embeddings/LayerNorm/beta"]],
        "Embedding-Mapping": [v["bert/encoder/embedding_hidden_mapping_in/kernel"],
                              v["bert/encoder/embedding_hidden_mapping_in/bias"]],
        "Encoder-MultiHeadSelfAttention": [
            v[a + "self/query/kernel"], v[a + "self/query/bias"], v[a + "self/key/kernel"],
            v[a + "self/key/bias"], v[a + "self/value/kernel"], v[a + "self/value/bias"],
            v[a + "output/dense/kernel"], v[a + "output/dense/bias"]],
        "Encoder-MultiHeadSelfAttention-Norm": [v[g + "LayerNorm/gamma"], v[g + "LayerNorm/beta"]],
        "Encoder-FeedForward": [
            v[g + "ffn_1/intermediate/dense/kernel"], v[g + "ffn_1/intermediate/dense/bias"],
            v[g + "ffn_1/intermediate/output/dense/kernel"],
            v[g + "ffn_1/intermediate/output/dense/bias"]],
        "Encoder-FeedForward-Norm": [v[g + "LayerNorm_1/gamma"], v[g + "LayerNorm_1/beta"]],
        "NSP-Dense": [v["bert/pooler/dense/kernel"], v["bert/pooler/dense/bias"]],
    }
    assert set(weights) == set(expected)
    for layer, arrays in expected.items():
        assert len(weights[layer]) == len(arrays), layer
        for got, want in zip(weights[layer], arrays):
            np.testing.assert_array_equal(got, want, err_msg=layer)


def test_google_checkpoint_errors_name_the_problem(tmp_path):
    variables = tiny_bert()
    write_google_checkpoint(tmp_path / "model.ckpt", variables)
    with pytest.raises(UserError, match="no variable bert/encoder/layer_2/attention/self/query/"
                                        "kernel.*3 blocks.*check BERT config"):
        read_google_checkpoint(tmp_path / "model.ckpt", 3, seq_len=16)
    with pytest.raises(UserError, match="more than 1 blocks.*num_hidden_layers"):
        read_google_checkpoint(tmp_path / "model.ckpt", 1, seq_len=16)
    with pytest.raises(UserError, match="20 position embeddings.*sequence length 64"):
        read_google_checkpoint(tmp_path / "model.ckpt", 2, seq_len=64)
    with pytest.raises(UserError, match="no variable bert/encoder/embedding_hidden_mapping_in"):
        read_google_checkpoint(tmp_path / "model.ckpt", 2, seq_len=16, albert=True)

    del variables["bert/encoder/layer_1/output/LayerNorm/beta"]
    write_google_checkpoint(tmp_path / "partial.ckpt", variables)
    with pytest.raises(UserError, match="no variable bert/encoder/layer_1/output/LayerNorm/beta"):
        read_google_checkpoint(tmp_path / "partial.ckpt", 2, seq_len=16)

    with pytest.raises(UserError, match="missing.ckpt.*checkpoint must be the prefix"):
        read_google_checkpoint(tmp_path / "missing.ckpt", 2, seq_len=16)
    (tmp_path / "corrupt.ckpt.index").write_bytes(b"not a checkpoint" * 8)
    with pytest.raises(UserError, match="corrupt.ckpt"):
        read_google_checkpoint(tmp_path / "corrupt.ckpt", 2, seq_len=16)
    data = tmp_path / "model.ckpt.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[:100])
    with pytest.raises(UserError, match="damaged"):
        read_google_checkpoint(tmp_path / "model.ckpt", 2, seq_len=16)


def test_classifier_half_is_an_error(tmp_path):
    variables = {**tiny_bert(), "output_bias": np.zeros(2, np.float32)}
    write_google_checkpoint(tmp_path / "model.ckpt", variables)
    with pytest.raises(UserError, match="output_bias but not its pair"):
        read_google_checkpoint(tmp_path / "model.ckpt", 2, seq_len=16)
