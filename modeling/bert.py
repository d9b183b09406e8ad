"""BERT and ALBERT classifiers with PoWER-BERT's Extract or Soft-Extract layers.

One builder makes the three models of the method: plain BERT (fine-tuning), BERT with a
Soft-Extract layer in every block (configuration search), and BERT with an Extract layer in
every block (re-training and inference). Layer names are the original's (keras-bert), so
weights move between the three, and from the original's `.hdf5` files, by layer name.
"""

import keras
from keras import ops

from extract_layers import Extract, RetentionConfiguration, SoftExtract
from modeling.layers import FeedForward, MultiHeadSelfAttention, PositionEmbedding

# Google BERT's LayerNorm epsilon.
LAYER_NORM_EPSILON = 1e-12


def build_model(config, seq_len, num_labels, retention=None, search_lambda=None,
                mass_weights=None):
    """Builds a sentence(-pair) classifier, or a regressor for `num_labels == 1`.

    The inputs may be of any length n <= seq_len: a batch padded to its longest row costs
    only what its words cost, and gives each row the output it would get alone.

    Args:
        config: a `modeling.config.BertConfig` (BERT, or ALBERT if it has `embedding_size`).
        seq_len: N, the task's sequence length: the positions and retention parameters.
        num_labels: classes of the task; 1 means regression (STS-B): one linear unit.
        retention: a `RetentionConfiguration`: with values, an Extract layer in every block
            keeps l_j word vectors (or shares f_j of each input's length, relative mode);
            its padding says whether padding queries vote in the significance score (run
            such a model on inputs padded to seq_len). None: plain BERT.
        search_lambda: LAMBDA; adds a Soft-Extract layer to every block instead (the
            configuration search, in `retention`'s mode and padding, its values None), with
            mass penalty LAMBDA * w_j * sum(r_j) for block j.
        mass_weights: w_1..w_L of the search's mass penalty (`modeling.flops.mass_weights`);
            None: the paper's, w_j = j.

    Returns:
        A `keras.Model` with inputs `Input-Token`, `Input-Segment`, `Input-Mask` (each
        (batch, n) int32, n <= N) and output class probabilities (batch, num_labels), or
        scores (batch, 1).

    Example:
    >>> from modeling.config import BertConfig
    >>> config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
    ...                     num_attention_heads=4, intermediate_size=64,
    ...                     max_position_embeddings=16, type_vocab_size=2)
    >>> model = build_model(config, seq_len=16, num_labels=2,
    ...                     retention=RetentionConfiguration((8, 4)))
    >>> model.predict([keras.ops.ones((3, 10), "int32")] * 3, verbose=0).shape
    (3, 2)
    """
    retention = retention or RetentionConfiguration()
    extracts = retention.values is not None
    if extracts and search_lambda is not None:
        raise ValueError("a model has Extract or Soft-Extract layers, not both")
    if extracts and len(retention.values) != config.num_hidden_layers:
        raise ValueError(f"{len(retention.values)} retention values for "
                         f"{config.num_hidden_layers} blocks")
    init = keras.initializers.TruncatedNormal(stddev=config.initializer_range)
    dropout = config.hidden_dropout_prob

    token = keras.Input((None,), dtype="int32", name="Input-Token")
    segment = keras.Input((None,), dtype="int32", name="Input-Segment")
    input_mask = keras.Input((None,), dtype="int32", name="Input-Mask")

    width = config.embedding_width
    x = keras.layers.Add(name="Embedding-Token-Segment")([
        keras.layers.Embedding(config.vocab_size, width, embeddings_initializer=init,
                               name="Embedding-Token")(token),
        keras.layers.Embedding(config.type_vocab_size, width, embeddings_initializer=init,
                               name="Embedding-Segment")(segment)])
    x = PositionEmbedding(seq_len, config.initializer_range, name="Embedding-Position")(x)
    x = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="Embedding-Norm")(x)
    x = keras.layers.Dropout(dropout, name="Embedding-Dropout")(x)
    if config.is_albert:
        x = keras.layers.Dense(config.hidden_size, kernel_initializer=init,
                               name="Embedding-Mapping")(x)  # E -> H

    mask = input_mask  # follows the kept positions through the Extract layers
    lengths = ops.sum(input_mask, axis=1)  # (batch,): each input's real length n
    positions = ops.cumsum(ops.ones_like(mask), axis=1) - 1  # (batch, n): 0, 1, ..., n-1
    shared = _encoder_sublayers(config, "Encoder") if config.is_albert else None
    for j in range(1, config.num_hidden_layers + 1):
        name = f"Encoder-{j}"
        attention, attention_norm, feed_forward, feed_forward_norm = (
            shared or _encoder_sublayers(config, name))
        h, probs = attention(x, mask)  # (batch, n, H), (batch, heads, n, n)
        h = keras.layers.Dropout(dropout, name=f"{name}-MultiHeadSelfAttention-Dropout")(h)
        x = attention_norm(keras.layers.Add(name=f"{name}-MultiHeadSelfAttention-Add")([x, h]))
        if search_lambda is not None:
            x = SoftExtract(seq_len, search_lambda,
                            mass_weight=mass_weights[j - 1] if mass_weights else j,
                            padding_votes=retention.padding_votes, relative=retention.relative,
                            name=f"{name}-MultiHeadSelfAttention-Soft-Extract")(x, probs, mask)
        elif extracts:
            x, mask, positions = Extract(retention.values[j - 1], retention.padding_votes,
                                         retention.relative, seq_len,
                                         name=f"{name}-MultiHeadSelfAttention-Extract")(
                x, probs, mask, positions, lengths)  # (batch, l_j, H)
        h = keras.layers.Dropout(dropout, name=f"{name}-FeedForward-Dropout")(feed_forward(x))
        x = feed_forward_norm(keras.layers.Add(name=f"{name}-FeedForward-Add")([x, h]))

    cls = x[:, 0]  # (batch, H): [CLS] is always kept
    pooled = keras.layers.Dense(config.hidden_size, activation="tanh", kernel_initializer=init,
                                name="NSP-Dense")(cls)
    pooled = keras.layers.Dropout(dropout, name="NSP-Dropout")(pooled)
    output = keras.layers.Dense(num_labels, activation=None if num_labels == 1 else "softmax",
                                kernel_initializer=init, name="NSP")(pooled)
    return keras.Model([token, segment, input_mask], output, name="power_bert")


def input_signature():
    """The `tf.function` input signature of `build_model`'s models: their three (batch, n)
    int32 inputs, for any batch and any n <= seq_len, so that one trace serves every batch."""
    import tensorflow as tf

    return [[tf.TensorSpec((None, None), tf.int32)] * 3]


def _encoder_sublayers(config, name):
    return (MultiHeadSelfAttention(config.num_attention_heads,
                                   config.attention_probs_dropout_prob,
                                   config.initializer_range, name=f"{name}-MultiHeadSelfAttention"),
            keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON,
                                            name=f"{name}-MultiHeadSelfAttention-Norm"),
            FeedForward(config.intermediate_size, config.activation, config.initializer_range,
                        name=f"{name}-FeedForward"),
            keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON,
                                            name=f"{name}-FeedForward-Norm"))


def kept_positions_model(model, real_only=False):
    """A model giving, for every Extract layer, the text positions of the vectors it kept.

    Args:
        model: a model built with a `retention` that has values.
        real_only: give -1 for kept vectors that are masked (padding, or in relative mode
            a row's vectors beyond its own share).

    Returns:
        A `keras.Model` on the same inputs with one (batch, l_j) int32 output per block.
    """
    extracts = [layer for layer in model.layers if isinstance(layer, Extract)]
    outputs = [layer.output[2] for layer in extracts]
    if real_only:
        outputs = [ops.where(layer.output[1] > 0, positions, -1)
                   for layer, positions in zip(extracts, outputs)]
    return keras.Model(model.inputs, outputs)


def soft_extract_layers(model):
    """The Soft-Extract layers of a search model, block 1 first."""
    return [layer for layer in model.layers if isinstance(layer, SoftExtract)]
