"""`bert_config.json` (Google's BERT and ALBERT configuration files)."""

import dataclasses
import json
import math

from errors import UserError
from text_files import read_text

_REQUIRED = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
             "intermediate_size", "max_position_embeddings", "type_vocab_size")


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The architecture of a BERT or ALBERT model.

    ALBERT is recognised from the file itself: its config has `embedding_size`
    (the factorised embedding width E, smaller than `hidden_size`).
    """

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    initializer_range: float = 0.02
    embedding_size: int | None = None
    num_hidden_groups: int = 1
    inner_group_num: int = 1

    @property
    def is_albert(self):
        return self.embedding_size is not None

    @property
    def embedding_width(self):
        """E: the width of the embedding tables (H for BERT)."""
        return self.embedding_size or self.hidden_size

    @property
    def activation(self):
        """The feed-forward activation as a Keras callable name or function.

        Google's TF code computes "gelu" with the tanh approximation; keras-bert (the original
        PoWER-BERT) and Hugging Face use the exact erf form, which is what BERT checkpoints
        such as MiniLM were trained with. ALBERT checkpoints follow Google's ALBERT: tanh.
        """
        approximate = {"gelu": self.is_albert, "gelu_new": True, "gelu_fast": True,
                       "gelu_pytorch_tanh": True}
        if self.hidden_act in approximate:
            return "gelu_tanh" if approximate[self.hidden_act] else "gelu"
        return self.hidden_act

    def to_dict(self):
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


_ACTIVATIONS = ("gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "relu", "tanh", "swish",
                "silu")


def _allowed(key, value):
    """What `key` of bert_config.json allows, if `value` is not that; else None."""
    if key == "hidden_act":
        return None if value in _ACTIVATIONS else f"one of {', '.join(_ACTIVATIONS)}"
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and (
        isinstance(value, int) or math.isfinite(value))
    if key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        return None if number and 0 <= value < 1 else "a number from 0 up to (not including) 1"
    if key == "initializer_range":
        return None if number and value >= 0 else "a number >= 0"
    # Sizes and counts: Keras takes only whole numbers, TensorFlow indexes with int32.
    return None if number and isinstance(value, int) and 1 <= value < 2 ** 31 else \
        f"a whole number from 1 to {2 ** 31 - 1}"


def load_config(path):
    """Reads a `bert_config.json`, checking what the model needs.

    Args:
        path: path of the JSON file.

    Returns:
        A `BertConfig`.

    Raises:
        UserError: the file is missing, not JSON, lacks a key or holds an impossible value.
    """
    text = read_text(path, "BERT config", "pass the bert_config.json of your checkpoint with "
                     "{bert_config}")
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise UserError(f"BERT config {path} is not valid JSON ({e}): pass the bert_config.json "
                        "that came with the checkpoint") from None
    if not isinstance(raw, dict):
        raise UserError(f"BERT config {path} must hold a JSON object with {', '.join(_REQUIRED)}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise UserError(f"BERT config {path} lacks {', '.join(missing)}: pass the "
                        "bert_config.json that came with the checkpoint")
    fields = {f.name for f in dataclasses.fields(BertConfig)}
    values = {k: v for k, v in raw.items() if k in fields}
    if values.get("embedding_size") is None:
        values.pop("embedding_size", None)
    for key, value in values.items():
        allowed = _allowed(key, value)
        if allowed:
            raise UserError(f"BERT config {path}: {key} is {json.dumps(value)}, but it must be "
                            f"{allowed}; pass the bert_config.json that came with the checkpoint")
    config = BertConfig(**values)
    if config.hidden_size % config.num_attention_heads:
        raise UserError(f"BERT config {path}: hidden_size {config.hidden_size} is not a multiple "
                        f"of num_attention_heads {config.num_attention_heads}")
    if config.is_albert and (config.num_hidden_groups != 1 or config.inner_group_num != 1):
        raise UserError(f"BERT config {path}: only ALBERT with one shared block "
                        "(num_hidden_groups = inner_group_num = 1, as Google released it) is "
                        "supported")
    return config
