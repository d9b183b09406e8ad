"""PoWER-BERT as an ONNX graph for ONNX Runtime, written from a Keras model's weights.

The graph is written in ONNX Runtime's own fused operators wherever one computes exactly what
our layer computes, so that nothing is left for its optimizer to find (it finds nothing in
what a converter makes of our Keras graph):

- the embeddings and their LayerNorm: `EmbedLayerNormalization` (word + position + segment,
  then LayerNorm);
- every residual Add&Norm, with the bias of the product before it: `SkipLayerNormalization`;
- the feed-forward activation with its bias: `BiasGelu` (erf GELU), `FastGelu` (tanh);
- self-attention in a block that keeps every word vector: `Attention` (one packed QKV
  product, masking with Google's -10000 adder, softmax, context), which does not output its
  attention probabilities;
- self-attention in a block with an Extract layer: ONNX's own `Attention` (opset 23), which
  also returns the probabilities (`qk_matmul_output_mode` 3) that the significance score
  sums, over Q, K, V from one packed product.

The Extract layer is written in plain ONNX (TopK, GatherElements, GatherND) and picks
exactly the vectors `extract_layers.Extract` picks: TopK breaks ties towards the lower index,
as TensorFlow's top_k does. Inputs are int64 [batch, n], n the batch's longest row; in the
original's padding mode (padding votes in the significance score) the graph pads them to
seq_len itself, as main.py's `--PADDING seq_len` does, so the interface stays the same.

Example:
>>> import numpy as np, onnxruntime
>>> from extract_layers import RetentionConfiguration
>>> from modeling.bert import build_model
>>> from modeling.config import BertConfig
>>> config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
...                     num_attention_heads=4, intermediate_size=64,
...                     max_position_embeddings=16, type_vocab_size=2)
>>> retention = RetentionConfiguration((0.5, 0.25), mode="relative")
>>> model = build_model(config, seq_len=16, num_labels=2, retention=retention)
>>> onnx_model = build_onnx_model(model, config, retention)
>>> session = onnxruntime.InferenceSession(onnx_model.SerializeToString())
>>> ids = np.ones((3, 10), np.int64)
>>> session.run(None, {"input_ids": ids, "token_type_ids": 0 * ids,
...                    "attention_mask": ids})[0].shape
(3, 2)
"""

import math

import numpy as np

from deploy.onnx_extract import keep_most_significant, keep_shares, ranking_score

# ONNX's own Attention with probability output came with opset 23.
OPSET = 23
INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")
_MS = "com.microsoft"


def output_name(num_labels):
    """The graph's output: `score` for a regressor (STS-B), else `probabilities`."""
    return "score" if num_labels == 1 else "probabilities"


class _Graph:
    """Nodes and initializers in the making, each value with a fresh name."""

    def __init__(self):
        self.nodes, self.initializers, self._count = [], [], 0

    def name(self, hint):
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value, hint="const", dtype=np.float32):
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type, inputs, outputs=1, domain="", **attributes):
        """Adds a node; returns its output name (or names, if `outputs` > 1)."""
        from onnx import helper

        names = [self.name(op_type) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, domain=domain,
                                           name=self.name(f"node_{op_type}"), **attributes))
        return names[0] if outputs == 1 else names


def _weights(model, name):
    return [np.asarray(w, np.float32) for w in model.get_layer(name).get_weights()]


def build_onnx_model(model, config, retention):
    """The ONNX model of a `modeling.bert.build_model` classifier at a retention configuration.

    Args:
        model: the Keras model (any of the three; only its weights are read, by layer name).
        config: its `BertConfig` (BERT only: ALBERT's shared blocks are not written).
        retention: the `RetentionConfiguration`: l_1..l_L (absolute) or shares f_1..f_L
            (relative), l_j >= seq_len (or f_j = 1) keeping every word vector, so that full
            retention is plain BERT; with padding seq_len, padding queries vote in the
            significance score (the original) and the graph pads its inputs to seq_len.

    Returns:
        An `onnx.ModelProto`: inputs `input_ids`, `token_type_ids`, `attention_mask` (int64,
        [batch, n]), output `probabilities` [batch, classes] or `score` [batch, 1].
    """
    from onnx import TensorProto, helper

    from modeling.bert import LAYER_NORM_EPSILON

    if config.is_albert:
        raise ValueError("ALBERT's shared blocks are not written as ONNX")
    g = _Graph()
    token_table, = _weights(model, "Embedding-Token")
    seq_len = _weights(model, "Embedding-Position")[0].shape[0]
    ids, segments, mask = _inputs(g, seq_len if retention.padding_votes else None)
    x = g.op("EmbedLayerNormalization",
             [ids, segments, g.const(token_table, "word_embedding"),
              g.const(_weights(model, "Embedding-Position")[0], "position_embedding"),
              g.const(_weights(model, "Embedding-Segment")[0], "segment_embedding"),
              *[g.const(w, "embedding_norm") for w in _weights(model, "Embedding-Norm")], mask],
             outputs=2, domain=_MS, epsilon=LAYER_NORM_EPSILON)[0]  # (batch, n, H)
    mask = g.op("Cast", [mask], to=TensorProto.FLOAT)  # (batch, n): follows the kept vectors
    lengths = g.op("ReduceSum", [mask, g.const([1], dtype=np.int64)], keepdims=0)  # (batch,)
    for j, kept in enumerate(retention.values, start=1):
        extracts = kept < retention.full(seq_len)
        x, mask = _block(g, model, config, j, x, mask, lengths, kept if extracts else None,
                         retention)
    cls = g.op("Gather", [x, g.const(0, dtype=np.int64)], axis=1)  # (batch, H)
    kernel, bias = _weights(model, "NSP-Dense")
    pooled = g.op("Tanh", [g.op("Add", [g.op("MatMul", [cls, g.const(kernel)]), g.const(bias)])])
    kernel, bias = _weights(model, "NSP")
    logits = g.op("Add", [g.op("MatMul", [pooled, g.const(kernel)]), g.const(bias)])
    num_labels = kernel.shape[1]
    name = output_name(num_labels)
    g.nodes.append(helper.make_node("Identity", [logits], [name]) if num_labels == 1 else
                   helper.make_node("Softmax", [logits], [name], axis=-1))
    graph = helper.make_graph(
        g.nodes, "power_bert",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "n"]) for n in INPUT_NAMES],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", num_labels])],
        initializer=g.initializers)
    return helper.make_model(graph, producer_name="power_bert",
                             opset_imports=[helper.make_opsetid("", OPSET),
                                            helper.make_opsetid(_MS, 1)])


def _inputs(g, pad_to):
    """The three inputs as int32, padded to `pad_to` positions if it is given."""
    from onnx import TensorProto

    inputs = [g.op("Cast", [name], to=TensorProto.INT32) for name in INPUT_NAMES]
    if pad_to is None:
        return inputs
    n = g.op("Shape", [INPUT_NAMES[0]], start=1, end=2)  # (1,)
    pads = g.op("Concat", [g.const([0, 0, 0], dtype=np.int64),
                           g.op("Sub", [g.const([pad_to], dtype=np.int64), n])], axis=0)
    # Padding is token id 0 in Google's vocabularies, and masked; its id never matters.
    return [g.op("Pad", [x, pads, g.const(0, dtype=np.int32)]) for x in inputs]


def _block(g, model, config, j, x, mask, lengths, kept, retention):
    """Block j: attention, Add&Norm, Extract (if `kept`, l_j or f_j, is given, run as
    `retention` says), feed-forward, Add&Norm.

    Returns:
        (x (batch, n_j, H), mask (batch, n_j) float).
    """
    from onnx import TensorProto

    from modeling.bert import LAYER_NORM_EPSILON
    from modeling.layers import MASK_ADDER

    name = f"Encoder-{j}"
    Wq, bq, Wk, bk, Wv, bv, Wo, bo = _weights(model, f"{name}-MultiHeadSelfAttention")
    heads = config.num_attention_heads
    qkv_weight = g.const(np.concatenate([Wq, Wk, Wv], axis=1), "qkv_weight")  # (H, 3H)
    qkv_bias = g.const(np.concatenate([bq, bk, bv]), "qkv_bias")
    if kept is None:
        mask_int = g.op("Cast", [mask], to=TensorProto.INT32)
        context = g.op("Attention", [x, qkv_weight, qkv_bias, mask_int], domain=_MS,
                       num_heads=heads, mask_filter_value=MASK_ADDER)  # (batch, n, H)
        probs = None
    else:
        context, probs = _attention_with_probs(g, x, qkv_weight, qkv_bias, mask, heads,
                                               config.hidden_size)
    x = g.op("SkipLayerNormalization",
             [g.op("MatMul", [context, g.const(Wo)]), x,
              *[g.const(w) for w in _weights(model, f"{name}-MultiHeadSelfAttention-Norm")],
              g.const(bo)], domain=_MS, epsilon=LAYER_NORM_EPSILON)
    if kept is not None:
        score = ranking_score(g, probs, mask, retention.padding_votes)
        x, mask = (keep_shares(g, x, score, mask, lengths, kept) if retention.relative else
                   keep_most_significant(g, x, score, mask, kept))
    W1, b1, W2, b2 = _weights(model, f"{name}-FeedForward")
    hidden = g.op("MatMul", [x, g.const(W1)])
    activation = config.activation
    if activation in ("gelu", "gelu_tanh"):
        hidden = g.op("BiasGelu" if activation == "gelu" else "FastGelu", [hidden, g.const(b1)],
                      domain=_MS)
    else:
        hidden = _plain_activation(g, activation, g.op("Add", [hidden, g.const(b1)]))
    x = g.op("SkipLayerNormalization",
             [g.op("MatMul", [hidden, g.const(W2)]), x,
              *[g.const(w) for w in _weights(model, f"{name}-FeedForward-Norm")], g.const(b2)],
             domain=_MS, epsilon=LAYER_NORM_EPSILON)
    return x, mask


def _plain_activation(g, activation, x):
    if activation == "relu":
        return g.op("Relu", [x])
    if activation == "tanh":
        return g.op("Tanh", [x])
    if activation in ("swish", "silu"):
        return g.op("Mul", [x, g.op("Sigmoid", [x])])
    raise ValueError(f"activation {activation!r} is not written as ONNX")


def _attention_with_probs(g, x, qkv_weight, qkv_bias, mask, heads, width):
    """Self-attention that also gives its probabilities (batch, heads, n, n)."""
    from modeling.layers import MASK_ADDER

    qkv = g.op("Add", [g.op("MatMul", [x, qkv_weight]), qkv_bias])  # (batch, n, 3H)
    q, k, v = g.op("Split", [qkv], outputs=3, axis=2, num_outputs=3)  # (batch, n, H) each
    # Google's adder on padding keys, as a (batch, 1, n, n) mask: the operator takes no
    # broadcast over queries.
    adder = g.op("Mul", [g.op("Sub", [g.const(1.0), mask]), g.const(MASK_ADDER)])  # (batch, n)
    adder = g.op("Unsqueeze", [adder, g.const([1, 2], dtype=np.int64)])  # (batch, 1, 1, n)
    n = g.op("Shape", [mask], start=1, end=2)
    adder = g.op("Expand", [adder, g.op("Concat", [g.const([1, 1], dtype=np.int64), n,
                                                    g.const([1], dtype=np.int64)], axis=0)])
    context, _, _, probs = g.op("Attention", [q, k, v, adder], outputs=4, q_num_heads=heads,
                                kv_num_heads=heads, scale=1.0 / math.sqrt(width // heads),
                                qk_matmul_output_mode=3)  # (batch, n, H), probabilities
    return context, probs
