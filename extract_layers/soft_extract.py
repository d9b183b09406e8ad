"""The Soft-Extract layer of the configuration search, and its mass penalty."""

import keras
from keras import ops

from extract_layers.significance import ranking_score


@keras.saving.register_keras_serializable(package="power_bert")
class UnitInterval(keras.constraints.Constraint):
    """Clips retention parameters back into [0, 1] after every update."""

    def __call__(self, w):
        return ops.clip(w, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="power_bert")
class Mass(keras.regularizers.Regularizer):
    """The search's penalty for block j: LAMBDA * w_j * sum_k r_j[k] (r >= 0, so an L1 norm).

    Args:
        lambda_: LAMBDA, the trade-off between accuracy and inference time.
        weight: w_j; the paper's is j, the block index counted from 1 (later blocks cost
            more to keep), `modeling.flops.mass_weights` the FLOPs a kept word costs.
    """

    def __init__(self, lambda_, weight):
        self.lambda_ = float(lambda_)
        self.weight = float(weight)

    def __call__(self, r):
        return self.lambda_ * self.weight * ops.sum(r)

    def get_config(self):
        return {"lambda_": self.lambda_, "weight": self.weight}


@keras.saving.register_keras_serializable(package="power_bert")
class SoftExtract(keras.layers.Layer):
    """Scales the word vector of significance rank k by the retention parameter r[k].

    Used only in the configuration search. The sequence keeps its length; the learned mass
    sum_k r[k] becomes the block's retention l_j = floor(mass). [CLS] has rank 0, as it is
    always kept by Extract. There is one parameter per rank up to seq_len; a batch of
    length n uses those of ranks 0..n-1.

    In relative mode the N parameters are bins of the relative rank k / n_b in [0, 1) of
    each input's own length n_b: the word of rank k covers [k / n_b, (k + 1) / n_b) and is
    scaled by the mean of r over the bins it covers, so every bin learns from every input
    and f_j = mean(r) is the share of each input that the block keeps.

    Args:
        seq_len: N, the number of retention parameters.
        lambda_: LAMBDA of the mass penalty.
        mass_weight: w_j of the mass penalty: the paper's is j, the block's index from 1.
        padding_votes: padding queries vote in the significance score (the original);
            must match the Extract layers that re-training will use.
        relative: the parameters are relative-rank bins (see above).

    Call args:
        x: (batch, n, H); attention_probs: (batch, heads, n, n); mask: (batch, n).

    Example:
    >>> x = keras.ops.ones((2, 8, 16)); probs = keras.ops.ones((2, 4, 8, 8)) / 8
    >>> tuple(SoftExtract(8, 1e-3, mass_weight=1)(x, probs, keras.ops.ones((2, 8))).shape)
    (2, 8, 16)
    """

    def __init__(self, seq_len, lambda_=0.0, mass_weight=1.0, padding_votes=False,
                 relative=False, **kwargs):
        super().__init__(**kwargs)
        self.seq_len = int(seq_len)
        self.lambda_ = float(lambda_)
        self.mass_weight = float(mass_weight)
        self.padding_votes = bool(padding_votes)
        self.relative = bool(relative)

    def build(self, x_shape, attention_probs_shape=None, mask_shape=None):
        self.r = self.add_weight(name="r", shape=(self.seq_len,), initializer="ones",
                                 constraint=UnitInterval(),
                                 regularizer=Mass(self.lambda_, self.mass_weight))

    def call(self, x, attention_probs, mask):
        score = ranking_score(attention_probs, mask, self.padding_votes)
        order = ops.argsort(-score, axis=-1)  # rank -> position
        rank = ops.argsort(order, axis=-1)  # position -> rank
        if not self.relative:
            return x * ops.take(self.r, rank)[:, :, None]
        bins = self.seq_len
        n = ops.maximum(ops.sum(ops.cast(mask, "int32"), axis=1, keepdims=True), 1)  # (batch, 1)
        # Bins [low, high) covered by [rank / n, (rank + 1) / n); padding ranks (>= n) are
        # clipped to the last bin, where they change nothing that a real word reads.
        low = ops.minimum(rank * bins // n, bins - 1)
        high = ops.clip(-((-(rank + 1) * bins) // n), low + 1, bins)  # ceil
        cumulative = ops.concatenate([ops.zeros((1,), self.r.dtype), ops.cumsum(self.r)])
        covered = (ops.take(cumulative, high) - ops.take(cumulative, low)) / \
            ops.cast(high - low, self.r.dtype)
        return x * covered[:, :, None]

    def compute_output_spec(self, x, attention_probs, mask):
        return keras.KerasTensor(x.shape, x.dtype)

    def get_config(self):
        return {**super().get_config(), "seq_len": self.seq_len, "lambda_": self.lambda_,
                "mass_weight": self.mass_weight, "padding_votes": self.padding_votes,
                "relative": self.relative}
