"""checkpoints/hdf5.py: the Keras 2.3.1 .hdf5 layout, written and read; h5py builds the Keras 2
files by hand as the independent reference."""

import os

import h5py
import keras
import numpy as np
import pytest

from checkpoints.hdf5 import read_hdf5_metadata, read_hdf5_weights, write_hdf5_weights
from errors import UserError


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


def test_a_damaged_file_is_one_user_error_naming_it_whatever_is_read(tmp_path):
    """Weights and the power_bert record alike: h5py's OSError never gets out."""
    whole = tmp_path / "whole.hdf5"
    write_hdf5_weights(whole, stand_in_model(), {"task": "mrpc"})
    assert read_hdf5_metadata(whole) == {"task": "mrpc"}
    cut = tmp_path / "cut.hdf5"
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 2])
    for read in (read_hdf5_weights, read_hdf5_metadata):
        with pytest.raises(UserError, match=r"cut.hdf5 is damaged \(.*truncated.*save or copy "
                                            r"it again"):
            read(cut)
    with h5py.File(whole, "r+") as f:
        f.attrs["power_bert"] = "{not json"
    with pytest.raises(UserError, match="whole.hdf5 is damaged .its power_bert attribute is not "
                                        "a JSON object"):
        read_hdf5_metadata(whole)
