"""Reads Hugging Face `.safetensors` files with numpy alone (no `safetensors` package).

The format: an 8-byte little-endian header length n, n bytes of JSON
`{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, then the
raw little-endian tensor bytes, offsets counted from the end of the header.
"""

import json
import struct
from pathlib import Path

import numpy as np

from errors import UserError

# Floating dtypes become float32, the dtype every checkpoint of this project holds.
_FLOAT_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
                 "F64": np.dtype("<f8")}
# Integer and boolean tensors in model files are buffers (position_ids...), not weights.
_BUFFER_DTYPES = {"I64", "I32", "I16", "I8", "U8", "BOOL"}


def _to_float32(raw: bytes, dtype: str, shape: list[int]) -> np.ndarray:
    """Decodes one tensor's bytes.

    Args:
        raw: the tensor's bytes, little-endian.
        dtype: the safetensors dtype name, one of _FLOAT_DTYPES.
        shape: the tensor's shape.
    """
    values = np.frombuffer(raw, dtype=_FLOAT_DTYPES[dtype])
    if dtype == "BF16":
        # bfloat16 is the upper half of a float32: shift it back into place.
        values = (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float32).reshape(shape)


def read_safetensors(path) -> dict[str, np.ndarray]:
    """Reads every floating-point tensor of a `.safetensors` file as float32.

    Args:
        path: the `.safetensors` file.

    Returns:
        {tensor name: array}, in the file's header order; integer buffers are left out.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}; check the Hugging Face model "
                        "directory")
    fix = "it is not a valid .safetensors file; download the model again"
    if len(data) < 8:
        raise UserError(f"{path} is {len(data)} bytes long: {fix}")
    (header_length,) = struct.unpack("<Q", data[:8])
    body_start = 8 + header_length
    try:
        header = json.loads(data[8:body_start])
    except (UnicodeDecodeError, ValueError):
        raise UserError(f"{path} has no readable JSON header: {fix}")
    if not isinstance(header, dict):
        raise UserError(f"{path} has a header that is not a JSON object: {fix}")
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise UserError(f"{path}: tensor {name} lacks dtype/shape/data_offsets: {fix}")
        if dtype in _BUFFER_DTYPES:
            continue
        if dtype not in _FLOAT_DTYPES:
            raise UserError(f"{path}: tensor {name} has dtype {dtype}, which this reader does not "
                            f"support (only {', '.join(_FLOAT_DTYPES)}); convert the model to "
                            "float32")
        expected = int(np.prod(shape)) * _FLOAT_DTYPES[dtype].itemsize
        if not 0 <= begin <= end <= len(data) - body_start or end - begin != expected:
            raise UserError(f"{path}: tensor {name} has data_offsets [{begin}, {end}] that do not "
                            f"fit its shape {shape} or the file size: {fix}")
        tensors[name] = _to_float32(data[body_start + begin:body_start + end], dtype, shape)
    return tensors
