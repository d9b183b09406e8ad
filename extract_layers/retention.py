"""Retention configurations: how many word vectors each block keeps."""

import math

from errors import UserError


def parse_retention_configuration(text, num_layers, seq_len):
    """Parses `--RETENTION_CONFIG`, e.g. "128,128,64,64,32,32".

    Args:
        text: N comma-separated integers, one per encoder block.
        num_layers: N, the blocks of the model.
        seq_len: the task's sequence length.

    Returns:
        A list of N ints, non-increasing, each in 1..seq_len.

    Raises:
        UserError: anything else.
    """
    hint = (f"give {num_layers} comma-separated non-increasing integers between 1 and "
            f"{seq_len}, e.g. --RETENTION_CONFIG \"{','.join([str(seq_len)] * num_layers)}\"")
    try:
        values = [int(v) for v in str(text).replace(" ", "").strip("[]").split(",")]
    except ValueError:
        raise UserError(f"--RETENTION_CONFIG {text!r} is not a list of integers: {hint}") from None
    if len(values) != num_layers:
        raise UserError(f"--RETENTION_CONFIG has {len(values)} values but the model has "
                        f"{num_layers} blocks: {hint}")
    if any(not 1 <= v <= seq_len for v in values):
        raise UserError(f"--RETENTION_CONFIG {text!r} has a value outside 1..{seq_len}: {hint}")
    if any(b > a for a, b in zip(values, values[1:])):
        raise UserError(f"--RETENTION_CONFIG {text!r} increases: a block cannot get back a word "
                        f"vector an earlier block dropped; {hint}")
    return values


def derive_retention_configuration(retention_parameters):
    """The retention configuration learned by the configuration search.

    l_j = floor(sum_k r_j[k]) (the mass), at least 1, then made non-increasing.

    Args:
        retention_parameters: per block, the Soft-Extract parameters r_j (a sequence of floats).

    Returns:
        A list of ints, one per block.
    """
    config = []
    for r in retention_parameters:
        mass = max(1, math.floor(sum(float(v) for v in r)))
        config.append(min(mass, config[-1]) if config else mass)
    return config
