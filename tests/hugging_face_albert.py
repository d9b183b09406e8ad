"""Hugging Face's AlbertModel (torch) as an independent reference, run in its own process.

Importing torch's compiler stack (which `transformers`' models load) after TensorFlow crashes
the interpreter, and pytest has TensorFlow loaded; so tests run this module with
`python -m tests.hugging_face_albert VARIABLES.npz CONFIG.json INPUTS.npz OUT.npy`.
It imports neither TensorFlow nor any product code.
"""

import json
import sys

import numpy as np

_BLOCK = "bert/encoder/transformer/group_0/inner_group_0/"
_LAYER = "encoder.albert_layer_groups.0.albert_layers.0."
# Hugging Face module -> Google variable scope.
_DENSE = {"encoder.embedding_hidden_mapping_in": "bert/encoder/embedding_hidden_mapping_in",
          _LAYER + "attention.query": _BLOCK + "attention_1/self/query",
          _LAYER + "attention.key": _BLOCK + "attention_1/self/key",
          _LAYER + "attention.value": _BLOCK + "attention_1/self/value",
          _LAYER + "attention.dense": _BLOCK + "attention_1/output/dense",
          _LAYER + "ffn": _BLOCK + "ffn_1/intermediate/dense",
          _LAYER + "ffn_output": _BLOCK + "ffn_1/intermediate/output/dense",
          "pooler": "bert/pooler/dense"}
_NORMS = {"embeddings.LayerNorm": "bert/embeddings/LayerNorm",
          _LAYER + "attention.LayerNorm": _BLOCK + "LayerNorm",
          _LAYER + "full_layer_layer_norm": _BLOCK + "LayerNorm_1"}


def state_dict(variables):
    """Google ALBERT checkpoint variables under Hugging Face AlbertModel's names.

    Args:
        variables: {Google variable name: array}.
    """
    import torch

    state = {f"embeddings.{name}.weight": variables[f"bert/embeddings/{name}"]
             for name in ("word_embeddings", "position_embeddings", "token_type_embeddings")}
    for hf, google in _DENSE.items():  # torch Linear stores (out, in): the kernel transposed
        state[f"{hf}.weight"] = variables[f"{google}/kernel"].T
        state[f"{hf}.bias"] = variables[f"{google}/bias"]
    for hf, google in _NORMS.items():
        state[f"{hf}.weight"] = variables[f"{google}/gamma"]
        state[f"{hf}.bias"] = variables[f"{google}/beta"]
    return {name: torch.tensor(np.ascontiguousarray(array)) for name, array in state.items()}


def probabilities(variables, config, token_ids, segment_ids, mask):
    """Class probabilities: AlbertModel's pooled output, then the Google classifier.

    Args:
        variables: {Google variable name: array}, with output_weights and output_bias.
        config: the albert_config.json dict.
        token_ids, segment_ids, mask: (batch, N) ints.
    """
    import torch
    from transformers import AlbertConfig, AlbertModel

    keys = ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers",
            "num_attention_heads", "intermediate_size", "max_position_embeddings",
            "type_vocab_size", "num_hidden_groups", "inner_group_num")
    model = AlbertModel(AlbertConfig(
        **{key: config[key] for key in keys},
        hidden_act="gelu_new",  # Google ALBERT's "gelu" is the tanh form
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, layer_norm_eps=1e-12))
    model.load_state_dict(state_dict(variables), strict=True)
    model.eval()
    with torch.no_grad():
        pooled = model(input_ids=torch.tensor(token_ids, dtype=torch.int64),
                       token_type_ids=torch.tensor(segment_ids, dtype=torch.int64),
                       attention_mask=torch.tensor(mask, dtype=torch.int64)).pooler_output
    logits = pooled.numpy().astype(np.float64) @ variables["output_weights"].T.astype(np.float64)
    logits += variables["output_bias"]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


if __name__ == "__main__":
    variables_path, config_path, inputs_path, out_path = sys.argv[1:]
    with open(config_path, encoding="utf-8") as f:
        albert_config = json.load(f)
    inputs = np.load(inputs_path)
    np.save(out_path, probabilities(dict(np.load(variables_path)), albert_config,
                                    inputs["token_ids"], inputs["segment_ids"], inputs["mask"]))
