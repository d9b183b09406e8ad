"""The layers of a BERT encoder, with the original PoWER-BERT's weight layout.

Weights are created in the order of keras-bert (keras-multi-head, keras-pos-wise-feed-forward),
so `.hdf5` files written by the original load by layer name: attention `Wq bq Wk bk Wv bv Wo bo`,
feed-forward `W1 b1 W2 b2`.
"""

import math
import warnings

import keras
import tensorflow as tf
from keras import ops

_PACKAGE = "power_bert"
# Google BERT masks padding keys by adding this to their attention logits.
MASK_ADDER = -10000.0


def activation_fn(name):
    """Maps a config activation ("gelu" = erf form, "gelu_tanh", "relu", ...) to a function."""
    if name == "gelu":
        return lambda x: keras.activations.gelu(x, approximate=False)
    if name == "gelu_tanh":
        return lambda x: keras.activations.gelu(x, approximate=True)
    return keras.activations.get(name)


def _initializer(stddev):
    return keras.initializers.TruncatedNormal(stddev=stddev)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned position vector to each word vector (keras-bert's "add" mode).

    The table has one row per position of the task's sequence length, as in the original.

    Args:
        seq_len: number of positions.
        initializer_range: stddev of the truncated-normal initializer.

    Example:
    >>> tuple(PositionEmbedding(128)(keras.ops.zeros((2, 128, 768))).shape)
    (2, 128, 768)
    """

    def __init__(self, seq_len, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.seq_len = seq_len
        self.initializer_range = initializer_range

    def build(self, input_shape):
        self.embeddings = self.add_weight(name="embeddings", shape=(self.seq_len, input_shape[-1]),
                                          initializer=_initializer(self.initializer_range))

    def call(self, x):
        return x + self.embeddings[None, : ops.shape(x)[1]]

    def get_config(self):
        return {**super().get_config(), "seq_len": self.seq_len,
                "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MultiHeadSelfAttention(keras.layers.Layer):
    """Multi-head self-attention that also returns its attention probabilities.

    The probabilities (after softmax, before dropout) feed the significance score of the
    Extract and Soft-Extract layers.

    Args:
        num_heads: number of attention heads; the width must divide by it.
        attention_dropout: dropout rate on the attention probabilities.
        initializer_range: stddev of the truncated-normal initializer.

    Call args:
        x: word vectors, (batch, n, H).
        mask: (batch, n), 1 for real words and 0 for padding; padding keys get no attention.

    Returns:
        (output (batch, n, H), attention probabilities (batch, heads, n_query, n_key)).

    Example:
    >>> x = keras.ops.ones((2, 16, 64)); mask = keras.ops.ones((2, 16))
    >>> out, probs = MultiHeadSelfAttention(num_heads=4)(x, mask)
    >>> tuple(probs.shape)
    (2, 4, 16, 16)
    """

    def __init__(self, num_heads, attention_dropout=0.0, initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.initializer_range = initializer_range
        self.dropout = keras.layers.Dropout(attention_dropout)

    def build(self, x_shape, mask_shape=None):
        width = x_shape[-1]
        if width % self.num_heads:
            raise ValueError(f"width {width} is not a multiple of {self.num_heads} heads")
        init = _initializer(self.initializer_range)
        for name in ("q", "k", "v", "o"):
            setattr(self, f"W{name}", self.add_weight(name=f"{self.name}_W{name}",
                                                      shape=(width, width), initializer=init))
            setattr(self, f"b{name}", self.add_weight(name=f"{self.name}_b{name}",
                                                      shape=(width,), initializer="zeros"))

    def call(self, x, mask, training=None):
        batch, n, width = ops.shape(x)[0], ops.shape(x)[1], x.shape[-1]
        # Projections multiply (batch * n, H) rows: a (batch, n, H) tensor times a matrix goes
        # through tf.tensordot, a dozen shape ops each, which made up 40% of the graph that
        # every batch runs and that the first batch traces.
        rows = ops.reshape(x, (-1, width))  # (batch * n, H)

        def heads(W, b):  # (batch, heads, n, d)
            return ops.transpose(ops.reshape(ops.matmul(rows, W) + b,
                                             (batch, n, self.num_heads, -1)), (0, 2, 1, 3))

        q, k, v = heads(self.Wq, self.bq), heads(self.Wk, self.bk), heads(self.Wv, self.bv)
        # transpose_b: one transpose fewer than keras.ops, which has no such argument.
        logits = tf.matmul(q, k, transpose_b=True)  # (batch, heads, n, n)
        logits = logits / math.sqrt(width // self.num_heads)
        adder = (1.0 - ops.cast(mask, logits.dtype)) * MASK_ADDER
        with warnings.catch_warnings():
            # After an Extract layer that keeps one word vector, attention runs over one key,
            # rightly with probability 1; keras.ops.softmax would warn that this is a mistake.
            warnings.filterwarnings("ignore", "You are using a softmax over axis", UserWarning)
            probs = ops.softmax(logits + adder[:, None, None, :], axis=-1)
        context = ops.matmul(self.dropout(probs, training=training), v)  # (batch, heads, n, d)
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (-1, width))
        return ops.reshape(ops.matmul(context, self.Wo) + self.bo, (batch, n, width)), probs

    def compute_output_spec(self, x, mask, training=None):
        batch, n = x.shape[0], x.shape[1]
        return (keras.KerasTensor(x.shape, x.dtype),
                keras.KerasTensor((batch, self.num_heads, n, n), x.dtype))

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads,
                "attention_dropout": self.attention_dropout,
                "initializer_range": self.initializer_range}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FeedForward(keras.layers.Layer):
    """The position-wise feed-forward sub-layer: W2 act(x W1 + b1) + b2.

    Args:
        intermediate_size: width I of the hidden layer.
        activation: "gelu" (erf), "gelu_tanh", "relu", ...
        initializer_range: stddev of the truncated-normal initializer.

    Example:
    >>> tuple(FeedForward(256)(keras.ops.ones((2, 8, 64))).shape)
    (2, 8, 64)
    """

    def __init__(self, intermediate_size, activation="gelu", initializer_range=0.02, **kwargs):
        super().__init__(**kwargs)
        self.intermediate_size = intermediate_size
        self.activation = activation
        self.initializer_range = initializer_range
        self._act = activation_fn(activation)

    def build(self, input_shape):
        width, init = input_shape[-1], _initializer(self.initializer_range)
        self.W1 = self.add_weight(name=f"{self.name}_W1", shape=(width, self.intermediate_size),
                                  initializer=init)
        self.b1 = self.add_weight(name=f"{self.name}_b1", shape=(self.intermediate_size,),
                                  initializer="zeros")
        self.W2 = self.add_weight(name=f"{self.name}_W2", shape=(self.intermediate_size, width),
                                  initializer=init)
        self.b2 = self.add_weight(name=f"{self.name}_b2", shape=(width,), initializer="zeros")

    def call(self, x):
        rows = ops.reshape(x, (-1, x.shape[-1]))  # (batch * n, H)
        rows = ops.matmul(self._act(ops.matmul(rows, self.W1) + self.b1), self.W2) + self.b2
        return ops.reshape(rows, ops.shape(x))

    def get_config(self):
        return {**super().get_config(), "intermediate_size": self.intermediate_size,
                "activation": self.activation, "initializer_range": self.initializer_range}
