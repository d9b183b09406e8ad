"""The Extract layer in plain ONNX, for `deploy.onnx_graph`: the significance score and the
choice of the word vectors a block keeps, exactly as `extract_layers.Extract` chooses them.

Each function takes the graph being written (`deploy.onnx_graph`'s `_Graph`: `op`, `const`)
and names of its (batch, ...) tensors, and returns the names of what it adds.
"""

import numpy as np


def ranking_score(g, probs, mask, padding_votes):
    """`extract_layers.significance.ranking_score` in ONNX: (batch, n)."""
    from extract_layers.significance import CLS_SCORE, PAD_SCORE

    mean = g.op("ReduceMean", [probs, g.const([1], dtype=np.int64)], keepdims=0)  # (b, n, n)
    # sum_q m_q A[q, k] - A[k, k] = sum_q (m_q - [q == k]) A[q, k]
    votes = (g.op("Unsqueeze", [mask, g.const([2], dtype=np.int64)]) if not padding_votes
             else g.const(1.0))  # (batch, n, 1)
    eye = g.op("EyeLike", [g.op("Gather", [mean, g.const(0, dtype=np.int64)], axis=0)])  # (n, n)
    score = g.op("ReduceSum", [g.op("Mul", [mean, g.op("Sub", [votes, eye])]),
                               g.const([1], dtype=np.int64)], keepdims=0)  # (batch, n)
    is_real = g.op("Greater", [mask, g.const(0.0)])
    score = g.op("Where", [is_real, score, g.const(PAD_SCORE)])
    n = g.op("Shape", [mask], start=1, end=2)
    positions = g.op("Range", [g.const(0, dtype=np.int64), g.op("Squeeze", [n]),
                               g.const(1, dtype=np.int64)])  # (n,)
    is_cls = g.op("Equal", [positions, g.const(0, dtype=np.int64)])
    return g.op("Where", [is_cls, g.const(CLS_SCORE), score])


def _in_text_order(g, kept, k):
    """The kept positions (batch, k) sorted ascending, and the order that sorts them."""
    from onnx import TensorProto

    as_float = g.op("Cast", [kept], to=TensorProto.FLOAT)  # positions < 2**24: exact
    _, order = g.op("TopK", [as_float, k], outputs=2, largest=0, sorted=1)
    return g.op("GatherElements", [kept, order], axis=1), order


def _gather_rows(g, x, kept):
    """x[b, kept[b]] for each row b: (batch, k, H)."""
    return g.op("GatherND", [x, g.op("Unsqueeze", [kept, g.const([2], dtype=np.int64)])],
                batch_dims=1)


def keep_most_significant(g, x, score, mask, retention):
    """The absolute Extract layer: min(l_j, n) vectors, [CLS] and the most significant."""
    n = g.op("Shape", [mask], start=1, end=2)
    k = g.op("Min", [n, g.const([retention], dtype=np.int64)])
    _, kept = g.op("TopK", [score, k], outputs=2, largest=1, sorted=1)
    kept, _ = _in_text_order(g, kept, k)
    return _gather_rows(g, x, kept), g.op("GatherElements", [mask, kept], axis=1)


def keep_shares(g, x, score, mask, lengths, share):
    """The relative Extract layer: k_b = min(k_{j-1}, max(1, ceil(f_j n_b))) of row b,
    the batch keeping the largest k_b and masking a row's vectors beyond its own."""
    from onnx import TensorProto

    from extract_layers.retention import SHARE_SCALE, share_units

    # ceil(f_j n_b) as `ceil_share` computes it, in integers: (u n_b + S - 1) // S.
    scaled = g.op("Add", [g.op("Mul", [g.op("Cast", [lengths], to=TensorProto.INT64),
                                       g.const(share_units(share), dtype=np.int64)]),
                          g.const(SHARE_SCALE - 1, dtype=np.int64)])
    wanted = g.op("Cast", [g.op("Div", [scaled, g.const(SHARE_SCALE, dtype=np.int64)])],
                  to=TensorProto.FLOAT)
    so_far = g.op("ReduceSum", [mask, g.const([1], dtype=np.int64)], keepdims=0)
    row_kept = g.op("Cast", [g.op("Min", [so_far, g.op("Max", [g.const(1.0), wanted])])],
                    to=TensorProto.INT64)  # (batch,)
    k = g.op("ReduceMax", [row_kept, g.const([0], dtype=np.int64)], keepdims=1)  # (1,)
    _, kept = g.op("TopK", [score, k], outputs=2, largest=1, sorted=1)  # significance order
    rank = g.op("Range", [g.const(0, dtype=np.int64), g.op("Squeeze", [k]),
                          g.const(1, dtype=np.int64)])
    own = g.op("Cast", [g.op("Less", [rank, g.op("Unsqueeze", [row_kept, g.const(
        [1], dtype=np.int64)])])], to=TensorProto.FLOAT)  # (batch, k): within the row's k_b
    kept, order = _in_text_order(g, kept, k)
    own = g.op("GatherElements", [own, order], axis=1)
    mask = g.op("Mul", [g.op("GatherElements", [mask, kept], axis=1), own])
    return _gather_rows(g, x, kept), mask
