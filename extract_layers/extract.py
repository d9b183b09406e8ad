"""The Extract layer: keeps the l_j most significant word vectors of a block."""

import keras
import tensorflow as tf
from keras import ops

from extract_layers.retention import ceil_share, share_units
from extract_layers.significance import ranking_score


@keras.saving.register_keras_serializable(package="power_bert")
class Extract(keras.layers.Layer):
    """Keeps `retention` word vectors: [CLS] and the most significant others, in text order.

    Placed after the attention sub-layer's Add&Norm of a block: the sequence really gets
    shorter, so the feed-forward sub-layer and every later block do less work. The mask and
    the original positions of the kept vectors follow them, so later blocks mask exactly
    the padding that survived.

    The input length n is that of the batch (its longest row, or seq_len when every input
    is padded to it); rows shorter than n carry padding, which ranks below every real word
    and stays masked if kept.

    In relative mode the layer keeps a share f_j of each input's own length n_b: k_b =
    min(k_{j-1}, max(1, ceil(f_j * n_b))) vectors of row b, ceil(f_j * n_b) exact as
    `extract_layers.retention.ceil_share` computes it. The batch keeps the largest k_b; a
    row's vectors beyond its own k_b are masked as padding, so that every row gets exactly
    the output it would get alone.

    Args:
        retention: l_j, the number of word vectors kept: min(l_j, n). With l_j >= n the
            layer keeps everything, so full retention is exactly BERT. In relative mode,
            the share f_j in (0, 1], of at most SHARE_DECIMALS decimals.
        padding_votes: padding queries vote in the significance score (the original
            PoWER-BERT, on inputs padded to seq_len); else only real words do.
        relative: `retention` is a share of each input's length.
        seq_len: N, the longest input the model takes, if known: an l_j >= N keeps every
            word vector with no test of the batch's length at run time, so that l_j = N in
            every block (how main.py runs plain BERT) costs exactly what BERT costs.

    Call args:
        x: (batch, n, H) word vectors.
        attention_probs: (batch, heads, n, n) of this block's self-attention.
        mask: (batch, n), 1 for real words.
        positions: (batch, n) int32, position in the input text of each vector.
        lengths: (batch,) int32, each input's real length; needed in relative mode only.

    Returns:
        (x, mask, positions) of length min(l_j, n) (None in the symbolic shape when n is).

    Example:
    >>> x = keras.ops.ones((2, 8, 16)); probs = keras.ops.ones((2, 4, 8, 8)) / 8
    >>> mask = keras.ops.ones((2, 8), "int32")
    >>> pos = keras.ops.tile(keras.ops.arange(8)[None], (2, 1))
    >>> [tuple(t.shape) for t in Extract(3)(x, probs, mask, pos)]
    [(2, 3, 16), (2, 3), (2, 3)]
    """

    def __init__(self, retention, padding_votes=False, relative=False, seq_len=None, **kwargs):
        super().__init__(**kwargs)
        self.relative = bool(relative)
        self.retention = float(retention) if self.relative else int(retention)
        if self.relative:
            share_units(self.retention)  # a share the rule cannot take fails here, not in a batch
        self.padding_votes = bool(padding_votes)
        self.seq_len = seq_len

    def call(self, x, attention_probs, mask, positions, lengths=None):
        if self.relative and self.retention >= 1:
            # k_b is then every vector a row has kept so far: the layer would only copy.
            return x, mask, positions
        if self.relative:
            score = ranking_score(attention_probs, mask, self.padding_votes)
            return self._keep_shares(x, score, mask, positions, lengths)
        longest = x.shape[1] if x.shape[1] is not None else self.seq_len
        if longest is not None and self.retention >= longest:
            return x, mask, positions
        n = tf.shape(x)[1]  # the batch's length, known at run time
        # A batch no longer than l_j keeps everything: skip the score, top-k and gathers, so
        # that full retention costs what BERT costs.
        return tf.cond(self.retention >= n, lambda: (x, mask, positions),
                       lambda: self._keep_most_significant(
                           x, ranking_score(attention_probs, mask, self.padding_votes), mask,
                           positions))

    def _keep_most_significant(self, x, score, mask, positions):
        _, kept = tf.math.top_k(score, k=self.retention, sorted=False)
        kept = ops.sort(kept, axis=-1)  # (batch, l_j): back to text order
        # tf.gather with batch_dims: keras.ops.take_along_axis builds full index grids on
        # TensorFlow and cost 8x more, a sizeable share of a small block.
        return (tf.gather(x, kept, batch_dims=1), tf.gather(mask, kept, batch_dims=1),
                tf.gather(positions, kept, batch_dims=1))

    def _keep_shares(self, x, score, mask, positions, lengths):
        # k_b; the mask's sum is k_{j-1}, what the row kept so far, and so k_b <= n.
        row_kept = tf.minimum(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1),
                              tf.maximum(1, ceil_share(self.retention, lengths)))  # (batch,)
        k = tf.reduce_max(row_kept)
        # sorted=True: rank r of the kept vector in significance order, ties to lower index.
        _, kept = tf.math.top_k(score, k=k, sorted=True)  # (batch, k)
        own = tf.range(k) < tf.expand_dims(row_kept, 1)  # within the row's own k_b
        _, order = tf.math.top_k(-kept, k=k)  # back to text order
        kept = tf.gather(kept, order, batch_dims=1)
        own = tf.gather(own, order, batch_dims=1)
        mask = tf.gather(mask, kept, batch_dims=1) * tf.cast(own, mask.dtype)
        return (tf.gather(x, kept, batch_dims=1), mask, tf.gather(positions, kept, batch_dims=1))

    def compute_output_spec(self, x, attention_probs, mask, positions, lengths=None):
        n = None if x.shape[1] is None or self.relative else min(self.retention, x.shape[1])
        return (keras.KerasTensor((x.shape[0], n, x.shape[2]), x.dtype),
                keras.KerasTensor((mask.shape[0], n), mask.dtype),
                keras.KerasTensor((positions.shape[0], n), positions.dtype))

    def get_config(self):
        return {**super().get_config(), "retention": self.retention,
                "padding_votes": self.padding_votes, "relative": self.relative,
                "seq_len": self.seq_len}
