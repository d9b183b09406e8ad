"""Exact FLOP count of a (PoWER-)BERT forward pass.

Counts the matrix products (a multiply-add is 2 FLOPs), which are all but a sliver of the
work: in block j the attention sub-layer runs on the l_{j-1} vectors that entered it and
the feed-forward sub-layer on the l_j that its Extract layer kept (l_0 = n, the input's
length). Counted on the real lengths of the rows, this is the work of BERT without padding.
"""

import numpy as np


def forward_flops(config, seq_len, retention_configuration=None, num_labels=2):
    """FLOPs of one example of length `seq_len` through the model.

    Args:
        config: a `BertConfig`.
        seq_len: n, the input's length (padding included, if it is padded).
        retention_configuration: l_1..l_L, the word vectors kept after each block (see
            `RetentionConfiguration.kept`), or None for BERT (every l_j = n).
        num_labels: outputs of the classifier.

    Returns:
        An int.
    """
    hidden = config.hidden_size
    retention = retention_configuration or [seq_len] * config.num_hidden_layers
    flops = 2 * seq_len * config.embedding_width * hidden if config.is_albert else 0
    n = seq_len
    for kept in retention:
        kept = min(kept, n)
        flops += attention_flops(config, n) + feed_forward_flops(config, kept)
        n = kept
    return flops + 2 * hidden * hidden + 2 * hidden * num_labels  # pooler and classifier


def attention_flops(config, n):
    """FLOPs of one attention sub-layer on n word vectors."""
    hidden = config.hidden_size
    return (2 * n * hidden * hidden * 4  # query, key, value and output projections
            + 2 * n * n * hidden * 2)  # attention logits and the weighted sum of values


def feed_forward_flops(config, kept):
    """FLOPs of one feed-forward sub-layer on `kept` word vectors."""
    return 2 * kept * config.hidden_size * config.intermediate_size * 2


def mass_weights(config, seq_len):
    """Per block j, the weight of its mass in the search's penalty (`--MASS_PENALTY flops`):
    what one more word kept by block j costs at seq_len, scaled so that the weights sum to
    L (L + 1) / 2 as the paper's weights j = 1..L do, and a LAMBDA presses about as hard.

    A word that block j's Extract layer keeps runs through that block's feed-forward
    sub-layer and enters block j + 1's attention sub-layer (the last block has none after
    it). The cost is taken at full retention; the paper's j says instead that later blocks
    cost more, though a word costs every block the same.

    Args:
        config: a `BertConfig`.
        seq_len: n, the length at which the next block's attention is charged.

    Returns:
        A list of L floats.
    """
    blocks = config.num_hidden_layers
    entering = attention_flops(config, seq_len) - attention_flops(config, seq_len - 1)
    cost = [feed_forward_flops(config, 1) + (entering if j < blocks else 0)
            for j in range(1, blocks + 1)]
    return [c * blocks * (blocks + 1) / 2 / sum(cost) for c in cost]


def total_flops(config, lengths, retention=None, num_labels=2):
    """FLOPs of a set of examples, each run at its own length.

    Args:
        config: a `BertConfig`.
        lengths: the examples' lengths: real lengths for BERT without padding, or seq_len
            for each when every input is padded to it.
        retention: a `RetentionConfiguration`, or None for BERT; each example keeps
            `retention.kept(n)` word vectors, n its length.
        num_labels: outputs of the classifier.
    """
    counts = np.unique(np.asarray(lengths, dtype=np.int64), return_counts=True)
    total = 0
    for n, count in zip(*counts):
        kept = None if retention is None else retention.kept(int(n))
        total += int(count) * forward_flops(config, int(n), kept, num_labels)
    return total


def flop_reduction(config, lengths, retention, num_labels=2):
    """How many times fewer FLOPs the configuration needs than BERT (the ideal speedup).

    Args:
        config: a `BertConfig`.
        lengths: an int N (every input padded to N, as in the paper), or the real lengths
            of a set of examples (against BERT without padding).
        retention: a `RetentionConfiguration`.
        num_labels: outputs of the classifier.
    """
    lengths = np.atleast_1d(lengths)
    return (total_flops(config, lengths, None, num_labels)
            / total_flops(config, lengths, retention, num_labels))


def reductions_against_both_baselines(config, lengths, seq_len, retention, num_labels=2):
    """The configuration's FLOP reduction on real inputs against both BERT baselines.

    Args:
        config: a `BertConfig`.
        lengths: the real lengths of a set of examples, each run at its own length.
        seq_len: N, to which the paper's baseline pads every input.
        retention, num_labels: see `total_flops`.

    Returns:
        (times fewer FLOPs than BERT on real lengths, than BERT padded to seq_len).
    """
    found = total_flops(config, lengths, retention, num_labels)
    return (total_flops(config, lengths, None, num_labels) / found,
            total_flops(config, [seq_len] * len(lengths), None, num_labels) / found)
