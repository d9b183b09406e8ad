"""A plain NumPy PoWER-BERT forward pass, written from the paper and docs/SPEC.md §1, for tests.

It reads weights by Google checkpoint variable names, so it shares no code with the Keras
model or the checkpoint loaders; it runs one example at a time in float64.
"""

import math
from fractions import Fraction

import numpy as np
from scipy.special import erf


def _layer_norm(x, p):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * p["gamma"] + p["beta"]


def _dense(x, p):
    return x @ p["kernel"] + p["bias"]


def _gelu(x, tanh):
    if tanh:
        return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def _params(variables, prefix):
    """{"kernel": ..., "bias": ...} or {"gamma", "beta"} under a variable-name prefix."""
    return {name[len(prefix) + 1:]: np.asarray(v, np.float64) for name, v in variables.items()
            if name.startswith(prefix + "/") and "/" not in name[len(prefix) + 1:]}


def forward(variables, config, token_ids, segment_ids, mask, retention=None,
            padding_votes=False, relative=False):
    """Class probabilities (or STS-B scores) of one example.

    Args:
        variables: Google checkpoint variables {name: array}, incl. output_weights/output_bias.
        config: dict of bert_config.json.
        token_ids, segment_ids, mask: (N,) ints.
        retention: l_1..l_L, or None for BERT.
        padding_votes: padding queries vote in the significance score (the original);
            else only real words do.
        relative: `retention` holds shares f_j: block j keeps
            min(k_{j-1}, max(1, ceil(f_j * n))) vectors of the n real tokens, f_j the decimal
            its float prints as (0.15, not 0.1499999999999999944...), in exact fractions.

    Returns:
        (num_labels,) probabilities, or (1,) score when there is one output.
    """
    albert = "embedding_size" in config
    n = len(token_ids)
    v = {k: np.asarray(a, np.float64) for k, a in variables.items()}
    x = (v["bert/embeddings/word_embeddings"][token_ids]
         + v["bert/embeddings/token_type_embeddings"][segment_ids]
         + v["bert/embeddings/position_embeddings"][:n])
    x = _layer_norm(x, _params(v, "bert/embeddings/LayerNorm"))
    if albert:
        x = _dense(x, _params(v, "bert/encoder/embedding_hidden_mapping_in"))
    keep = np.asarray(mask, bool)  # which of the current vectors are real words
    real_length = int(keep.sum())
    heads = config["num_attention_heads"]
    for j in range(config["num_hidden_layers"]):
        if albert:
            base = "bert/encoder/transformer/group_0/inner_group_0"
            names = {"q": f"{base}/attention_1/self/query", "k": f"{base}/attention_1/self/key",
                     "v": f"{base}/attention_1/self/value",
                     "o": f"{base}/attention_1/output/dense", "ln1": f"{base}/LayerNorm",
                     "ff1": f"{base}/ffn_1/intermediate/dense",
                     "ff2": f"{base}/ffn_1/intermediate/output/dense", "ln2": f"{base}/LayerNorm_1"}
        else:
            base = f"bert/encoder/layer_{j}"
            names = {"q": f"{base}/attention/self/query", "k": f"{base}/attention/self/key",
                     "v": f"{base}/attention/self/value", "o": f"{base}/attention/output/dense",
                     "ln1": f"{base}/attention/output/LayerNorm",
                     "ff1": f"{base}/intermediate/dense", "ff2": f"{base}/output/dense",
                     "ln2": f"{base}/output/LayerNorm"}
        p = {k: _params(v, name) for k, name in names.items()}
        m, width = x.shape
        d = width // heads
        q, k, val = (_dense(x, p[s]).reshape(m, heads, d).transpose(1, 0, 2) for s in "qkv")
        logits = q @ k.transpose(0, 2, 1) / np.sqrt(d) + np.where(keep, 0.0, -10000.0)
        a = np.exp(logits - logits.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)  # (heads, m, m)
        context = (a @ val).transpose(1, 0, 2).reshape(m, width)
        x = _layer_norm(x + _dense(context, p["o"]), p["ln1"])
        target = retention[j] if retention is not None else m
        if relative:
            share = Fraction(repr(float(retention[j])))
            target = min(int(keep.sum()), max(1, math.ceil(share * real_length)))
        if target < m:
            mean = a.mean(0)
            voters = mean if padding_votes else mean[keep]
            score = voters.sum(0) - np.diag(mean)
            score[~keep] = -1.0  # padding never beats a real word
            others = 1 + np.argsort(-score[1:], kind="stable")[: target - 1]
            kept = np.sort(np.concatenate([[0], others]))
            x, keep = x[kept], keep[kept]
        tanh = albert or config.get("hidden_act") in ("gelu_new", "gelu_fast")
        hidden = _dense(x, p["ff1"])
        hidden = np.maximum(hidden, 0) if config.get("hidden_act") == "relu" else _gelu(hidden, tanh)
        x = _layer_norm(x + _dense(hidden, p["ff2"]), p["ln2"])
    pooled = np.tanh(_dense(x[0], _params(v, "bert/pooler/dense")))
    logits = pooled @ v["output_weights"].T + v["output_bias"]
    if logits.shape[0] == 1:
        return logits
    e = np.exp(logits - logits.max())
    return e / e.sum()
