"""Exact FLOP count of a (PoWER-)BERT forward pass, per example.

Counts the matrix products (a multiply-add is 2 FLOPs), which are all but a sliver of the
work: in block j the attention sub-layer runs on the l_{j-1} vectors that entered it and
the feed-forward sub-layer on the l_j that its Extract layer kept (l_0 = N).
"""


def forward_flops(config, seq_len, retention_configuration=None, num_labels=2):
    """FLOPs of one example through the model.

    Args:
        config: a `BertConfig`.
        seq_len: N.
        retention_configuration: l_1..l_L, or None for BERT (every l_j = N).
        num_labels: outputs of the classifier.

    Returns:
        An int.
    """
    hidden, inner = config.hidden_size, config.intermediate_size
    retention = retention_configuration or [seq_len] * config.num_hidden_layers
    flops = 2 * seq_len * config.embedding_width * hidden if config.is_albert else 0
    n = seq_len
    for kept in retention:
        kept = min(kept, n)
        flops += 2 * n * hidden * hidden * 4  # query, key, value and output projections
        flops += 2 * n * n * hidden * 2  # attention logits and the weighted sum of values
        flops += 2 * kept * hidden * inner * 2  # the feed-forward sub-layer
        n = kept
    return flops + 2 * hidden * hidden + 2 * hidden * num_labels  # pooler and classifier


def flop_reduction(config, seq_len, retention_configuration, num_labels=2):
    """How many times fewer FLOPs the configuration needs than BERT (the ideal speedup)."""
    return (forward_flops(config, seq_len, None, num_labels)
            / forward_flops(config, seq_len, retention_configuration, num_labels))
