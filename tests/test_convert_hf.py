"""checkpoints/convert_hf.py: HF -> Google conversion of the real MiniLM.

Independent references: the `safetensors` package reads the source model,
tf.train.load_checkpoint reads the converted one, and the expected Google/HF name pairs are
spelled out here from docs/SPEC.md §4, not taken from checkpoints/google.py's table: matching names
that were written apart is the point of these tests.
"""

import json

import numpy as np
import pytest
import safetensors.numpy
import tensorflow as tf

from checkpoints.convert_hf import convert_hf, main as convert_main
from errors import UserError
from tests.helpers import MINILM_DIR, MINILM_LAYERS


def minilm_pairs():
    """(Google name, HF name, transposed) for every weight of a 6-block HF BertModel."""
    pairs = [(f"bert/embeddings/{kind}_embeddings", f"embeddings.{kind}_embeddings.weight", False)
             for kind in ("word", "token_type", "position")]
    pairs += [("bert/embeddings/LayerNorm/gamma", "embeddings.LayerNorm.weight", False),
              ("bert/embeddings/LayerNorm/beta", "embeddings.LayerNorm.bias", False),
              ("bert/pooler/dense/kernel", "pooler.dense.weight", True),
              ("bert/pooler/dense/bias", "pooler.dense.bias", False)]
    for i in range(MINILM_LAYERS):
        for dense in ("attention/self/query", "attention/self/key", "attention/self/value",
                      "attention/output/dense", "intermediate/dense", "output/dense"):
            hf = f"encoder.layer.{i}." + dense.replace("/", ".")
            pairs += [(f"bert/encoder/layer_{i}/{dense}/kernel", hf + ".weight", True),
                      (f"bert/encoder/layer_{i}/{dense}/bias", hf + ".bias", False)]
        for norm in ("attention/output/LayerNorm", "output/LayerNorm"):
            hf = f"encoder.layer.{i}." + norm.replace("/", ".")
            pairs += [(f"bert/encoder/layer_{i}/{norm}/gamma", hf + ".weight", False),
                      (f"bert/encoder/layer_{i}/{norm}/beta", hf + ".bias", False)]
    return pairs


def test_conversion_keeps_every_weight_unchanged(converted, hf_tensors):
    reader = tf.train.load_checkpoint(str(converted / "bert_model.ckpt"))
    stored = reader.get_variable_to_shape_map()
    pairs = minilm_pairs()
    # Every float tensor of the source is accounted for, and nothing else was written.
    assert {hf for _, hf, _ in pairs} == set(hf_tensors) - {"embeddings.position_ids"}
    assert set(stored) == {google for google, _, _ in pairs}
    for google, hf, transposed in pairs:
        expected = hf_tensors[hf].T if transposed else hf_tensors[hf]
        np.testing.assert_array_equal(reader.get_tensor(google), expected, err_msg=google)
    assert sorted(p.name for p in converted.iterdir()) == [
        "bert_config.json", "bert_model.ckpt.data-00000-of-00001", "bert_model.ckpt.index",
        "vocab.txt"]
    assert (converted / "vocab.txt").read_bytes() == (MINILM_DIR / "vocab.txt").read_bytes()


def test_converted_config_has_googles_keys_and_the_models_values(converted):
    config = json.loads((converted / "bert_config.json").read_text())
    assert config == {"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
                      "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
                      "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
                      "max_position_embeddings": 512, "type_vocab_size": 2,
                      "initializer_range": 0.02}


def test_conversion_rejects_unmapped_weights_and_writes_nothing(tmp_path, capsys):
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    (hf_dir / "config.json").write_text((MINILM_DIR / "config.json").read_text())
    (hf_dir / "vocab.txt").write_text("[PAD]\n")
    safetensors.numpy.save_file({"embeddings.word_embeddings.weight": np.zeros((4, 2), np.float32),
                                 "cls.predictions.bias": np.zeros(4, np.float32)},
                                str(hf_dir / "model.safetensors"))
    assert convert_main([str(hf_dir), str(tmp_path / "out")]) == 2
    assert "cls.predictions.bias" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]


def test_conversion_rejects_a_config_that_does_not_fit_the_weights(tmp_path, hf_tensors):
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    config = json.loads((MINILM_DIR / "config.json").read_text())
    (hf_dir / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 12}))
    (hf_dir / "vocab.txt").write_text("[PAD]\n")
    safetensors.numpy.save_file(hf_tensors, str(hf_dir / "model.safetensors"))
    with pytest.raises(UserError, match="num_hidden_layers=12 .* has 6"):
        convert_hf(hf_dir, tmp_path / "out")
