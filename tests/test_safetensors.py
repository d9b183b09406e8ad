"""checkpoints/safetensors.py, against the `safetensors` package and torch as references."""

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

from checkpoints.safetensors import read_safetensors
from errors import UserError


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
