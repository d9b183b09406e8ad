"""Retention configurations: how many word vectors each block keeps.

Absolute (the paper's): l_1 >= ... >= l_L word vectors, whatever the input's length.
Relative: shares f_1 >= ... >= f_L in (0, 1] of each input's own length n, each with at most
SHARE_DECIMALS decimals; after block j an input keeps k_j = min(k_{j-1}, max(1, ceil(f_j * n)))
vectors, k_0 = n, with ceil(f_j * n) exact (`ceil_share`).
"""

import dataclasses
import math

from errors import UserError

# Shares are rounded to this many decimals, so that the logged configuration is the one used;
# a share with more is refused, so that f_j * 10**SHARE_DECIMALS is a whole number.
SHARE_DECIMALS = 4
SHARE_SCALE = 10 ** SHARE_DECIMALS
ABSOLUTE, RELATIVE = "absolute", "relative"
RETENTION_MODES = (ABSOLUTE, RELATIVE)
PADDINGS = ("batch", "seq_len")


@dataclasses.dataclass(frozen=True)
class RetentionConfiguration:
    """A retention configuration with what decides how the model runs it: its numbers, its
    mode and the padding, which travel together wherever a model is built, counted, recorded
    or exported.

    Attributes:
        values: l_1..l_L (absolute, ints) or f_1..f_L (relative, floats), one per block; None
            where there is none: plain BERT, or a run whose configuration search has not yet
            found it.
        mode: "absolute" (l_j word vectors per block, the paper's) or "relative" (a share
            f_j of each input's length), as `--RETENTION_MODE`.
        padding: "batch" (a batch padded to its longest input; only real words vote in the
            significance score) or "seq_len" (every input padded to seq_len; padding votes,
            as in the original), as `--PADDING`.

    Example:
    >>> retention = RetentionConfiguration(mode="relative").parse("0.5,0.25", 2, 16)
    >>> retention.values, retention.label, str(retention), retention.kept(10)
    ((0.5, 0.25), 'rel:0.5,0.25', '[0.5, 0.25]', [5, 3])
    """

    values: tuple | None = None
    mode: str = ABSOLUTE
    padding: str = "batch"

    def __post_init__(self):
        if self.mode not in RETENTION_MODES or self.padding not in PADDINGS:
            raise ValueError(f"retention mode {self.mode!r} or padding {self.padding!r} is not "
                             f"one of {RETENTION_MODES} and {PADDINGS}")
        if self.values is not None:  # ints or floats as the mode says, whatever gave them
            kind = float if self.relative else int
            object.__setattr__(self, "values", tuple(kind(value) for value in self.values))

    def __str__(self):
        """The numbers as the log writes them, a list: "[64, 32]" ("None" without any)."""
        return str(None if self.values is None else list(self.values))

    @property
    def relative(self):
        return self.mode == RELATIVE

    @property
    def padding_votes(self):
        """Padding queries vote in the significance score (the original's `--PADDING seq_len`)."""
        return self.padding == "seq_len"

    @property
    def label(self):
        """Its label in the benchmarks' tables: "12,6,3,1", or "rel:0.9,0.7,..." if relative."""
        if self.relative:
            return "rel:" + ",".join(f"{share:g}" for share in self.values)
        return ",".join(map(str, self.values))

    def full(self, seq_len):
        """The value of a block that keeps every word vector: seq_len, or the share 1.0."""
        return 1.0 if self.relative else seq_len

    def keeping_all(self, num_layers, seq_len):
        """This mode and padding with every block keeping every word vector (plain BERT)."""
        return dataclasses.replace(self, values=(self.full(seq_len),) * num_layers)

    def kept(self, n):
        """k_1..k_L: the word vectors an input of n real tokens keeps after each block (None
        without values: all n in every block)."""
        if self.values is None:
            return None
        if self.relative:
            return relative_kept(self.values, n)
        return [min(value, n) for value in self.values]

    def parse(self, text, num_layers, seq_len):
        """This mode and padding with the numbers of `--RETENTION_CONFIG` text, checked by
        `parse_relative_configuration` or `parse_retention_configuration`.

        Raises:
            UserError: the text is not a configuration of this mode for the model.
        """
        values = (parse_relative_configuration(text, num_layers) if self.relative
                  else parse_retention_configuration(text, num_layers, seq_len))
        return dataclasses.replace(self, values=tuple(values))

    def parse_recorded(self, values, num_layers, seq_len):
        """`parse` of a configuration as a JSON record holds it (a list).

        Raises:
            UserError: `values` is not a list, or does not fit the model.
        """
        if not isinstance(values, list):
            raise UserError(f"{{retention}} {values!r} is not a list")
        return self.parse(",".join(map(str, values)), num_layers, seq_len)

    def derive(self, retention_parameters):
        """This mode and padding with the configuration that the configuration search's
        retention parameters give (`derive_relative_configuration` or
        `derive_retention_configuration`)."""
        derive = (derive_relative_configuration if self.relative
                  else derive_retention_configuration)
        return dataclasses.replace(self, values=tuple(derive(retention_parameters)))

    def record(self):
        """What a model file's `power_bert` record and an export's power_bert.json say of it."""
        return {"retention_configuration": None if self.values is None else list(self.values),
                "retention_mode": self.mode, "padding": self.padding}


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
            f"{seq_len}, e.g. {{retention}} \"{','.join([str(seq_len)] * num_layers)}\"")
    if are_shares(text):
        raise UserError(f"{{retention}} {text!r} holds shares of each input's length, but "
                        "{retention_mode} absolute keeps a number of word vectors per block: "
                        f"{hint}, or drop {{retention_mode}} absolute to run the shares")
    return _parse(text, num_layers, int, "integers", lambda v: 1 <= v <= seq_len,
                  f"a value outside 1..{seq_len}", hint)


def are_shares(text):
    """Whether a `--RETENTION_CONFIG` is written as shares: numbers, one at least with a
    decimal point ("1" alone is a word vector count; "1.0,0.5" are shares, "1.5,0.5" shares
    out of range, which `parse_relative_configuration` names as such)."""
    values = _values(text)
    try:
        return any("." in v for v in values) and all(math.isfinite(float(v)) for v in values)
    except ValueError:
        return False


def parse_relative_configuration(text, num_layers):
    """Parses `--RETENTION_CONFIG` in relative mode, e.g. "0.9,0.7,0.5,0.3,0.2,0.1".

    Args:
        text: N comma-separated numbers in (0, 1], one per encoder block.
        num_layers: N, the blocks of the model.

    Returns:
        A list of N floats, non-increasing, each in (0, 1].

    Raises:
        UserError: anything else.
    """
    hint = (f"give {num_layers} comma-separated non-increasing shares in (0, 1] of at most "
            f"{SHARE_DECIMALS} decimals, e.g. {{retention}} \"{','.join(['0.5'] * num_layers)}\" "
            "with {retention_mode} relative")
    return _parse(text, num_layers, float, "numbers",
                  lambda v: 0 < v <= 1 and _has_share_decimals(v),
                  f"a share outside (0, 1] or of more than {SHARE_DECIMALS} decimals", hint)


def _parse(text, num_layers, convert, kind, in_range, out_of_range, hint):
    """One value per block, each `in_range`, non-increasing; else a UserError ending in `hint`."""
    try:
        values = [convert(v) for v in _values(text)]
    except ValueError:
        raise UserError(f"{{retention}} {text!r} is not a list of {kind}: {hint}") from None
    if len(values) != num_layers:
        raise UserError(f"{{retention}} has {len(values)} values but the model has "
                        f"{num_layers} blocks: {hint}")
    if not all(in_range(v) for v in values):
        raise UserError(f"{{retention}} {text!r} has {out_of_range}: {hint}")
    if any(b > a for a, b in zip(values, values[1:])):
        raise UserError(f"{{retention}} {text!r} increases: a block cannot get back a word "
                        f"vector an earlier block dropped; {hint}")
    return values


def share_units(share):
    """f as a whole number of 1 / SHARE_SCALE: f * SHARE_SCALE, exactly.

    Args:
        share: f, a float of at most SHARE_DECIMALS decimals.

    Raises:
        ValueError: `share` has more decimals.
    """
    if not _has_share_decimals(share):
        raise ValueError(f"share {share!r} has more than {SHARE_DECIMALS} decimals")
    return round(share * SHARE_SCALE)


def ceil_share(share, n):
    """ceil(f * n), exactly: the one rule of relative retention, before its clamps.

    A float product is not exact: in float32, 0.15 * 340 is 51.000004 and its ceil 52. In
    integers, ceil(f n) = ceil(u n / S) = (u n + S - 1) // S with u = f S whole
    (`share_units`) and S = SHARE_SCALE, which every caller computes alike: Python and
    NumPy on ints, the Extract layer on its int32 lengths tensor (u n < 2**31 for n below
    200,000), and the ONNX graph in the same three integer operations.

    Args:
        share: f, of at most SHARE_DECIMALS decimals.
        n: a length n >= 0: an int, or an integer array or tensor of lengths.

    Returns:
        ceil(f * n), of n's type.
    """
    return (n * share_units(share) + (SHARE_SCALE - 1)) // SHARE_SCALE


def relative_kept(shares, n):
    """k_1..k_L: the word vectors an input of n real tokens keeps after each block.

    Args:
        shares: f_1..f_L of a relative retention configuration.
        n: the input's real length, [CLS] and [SEP]s included.
    """
    kept, k = [], n
    for share in shares:
        k = min(k, max(1, ceil_share(share, n)))
        kept.append(k)
    return kept


def derive_relative_configuration(retention_parameters):
    """The relative retention configuration learned by the configuration search.

    f_j = mean_b r_j[b], the share of the relative-rank axis kept, at least one bin's worth,
    then made non-increasing and rounded to SHARE_DECIMALS.

    Args:
        retention_parameters: per block, the Soft-Extract parameters r_j over relative-rank
            bins (a sequence of floats).

    Returns:
        A list of floats, one per block.
    """
    config = []
    for r in retention_parameters:
        values = [float(v) for v in r]
        share = max(sum(values) / len(values), 1 / len(values))
        share = min(share, config[-1]) if config else share  # r lies in [0, 1]
        config.append(round(share, SHARE_DECIMALS))
    return config


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


def _has_share_decimals(share):
    """Whether a float is the nearest float to a number of at most SHARE_DECIMALS decimals, as
    float("0.15") is: u / SHARE_SCALE, the nearest float to that number, then equals it."""
    return round(share * SHARE_SCALE) / SHARE_SCALE == share


def _values(text):
    """The comma-separated values of a configuration, as written: "[8, 4]" is ["8", "4"]."""
    return str(text).replace(" ", "").strip("[]").split(",")
