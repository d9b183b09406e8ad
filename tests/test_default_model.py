"""checkpoints/default_model.py: the embedded MiniLM, converted once and whole."""

import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf


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
