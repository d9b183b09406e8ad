"""checkpoints/assign.py: setting a model's weights by layer name."""

import keras
import numpy as np
import pytest

from checkpoints.assign import assign_weights
from checkpoints.hdf5 import read_hdf5_weights, write_hdf5_weights
from errors import UserError


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
                                        r"model but \(5, 2\) in the checkpoint.*check BERT config"):
        assign_weights(model, {**good, "NSP": [np.zeros((5, 2)), np.zeros(2)]})
    with pytest.raises(UserError, match=r"classifier \(layer NSP\) has 3 classes, but the model "
                                        r"for task has 2 classes"):
        assign_weights(model, {**good, "NSP": [np.zeros((4, 3)), np.zeros(3)]})
    with pytest.raises(UserError, match="no weights for layer NSP;"):
        assign_weights(model, {k: v for k, v in good.items() if k != "NSP"})
    with pytest.raises(UserError, match="layer NSP-Dense has 2 weights but the checkpoint holds 1"):
        assign_weights(model, {**good, "NSP-Dense": [np.zeros((4, 4))]})
    with pytest.raises(UserError, match=r"Embedding-Position weight 0 .*\(6, 4\) in the model but "
                                        r"\(5, 4\)"):
        assign_weights(model, {**good, "Embedding-Position": [np.zeros((5, 4))]})
