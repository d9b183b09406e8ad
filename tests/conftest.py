"""Shared fixtures: the real MiniLM BERT, converted once, fine-tuned checkpoints of it, and a
small ALBERT release (factories and constants are in tests/helpers.py).

A "fine-tuned" checkpoint is what google-research/bert saves after fine-tuning: every BERT
variable plus the classifier `output_weights` [num_labels, H] and `output_bias` [num_labels].
The classifier here is random (fixed seed), scaled so that its outputs are far from uniform
and a wrong word vector or a wrong weight shows in the predictions.
"""

import dataclasses
import importlib.util
import json
import types
from pathlib import Path

# Hugging Face's BertModel (a test reference) loads triton, whose native library crashes the
# process (SIGSEGV) when it is loaded after TensorFlow's; loading it first avoids that.
if importlib.util.find_spec("triton"):
    import triton  # noqa: F401

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import safetensors.numpy  # noqa: E402
import sentencepiece  # noqa: E402
import tensorflow as tf  # noqa: E402

from checkpoints.convert_hf import CKPT_NAME, convert_hf, default_hf_dir  # noqa: E402
from checkpoints.convert_hf import main as convert_main  # noqa: E402
from checkpoints.google import write_google_checkpoint  # noqa: E402
from modeling.config import load_config  # noqa: E402
from tests.data_paths import pytest_terminal_summary, real_data  # noqa: E402,F401
from tests.helpers import (ALBERT_SEQ_LEN, MINILM_DIR, glue_lines, random_variables,  # noqa: E402
                           train_sentencepiece)


# MiniLM's pooled vectors vary little between sentences; this scale spreads the classifier's
# probabilities over (0, 1), so that the outputs are far from uniform.
_CLASSIFIER_SCALE = 2.0


@dataclasses.dataclass(frozen=True)
class FineTuned:
    """A Google fine-tuned checkpoint of MiniLM and what a main.py run needs to use it.

    Args:
        config_path, vocab_path: bert_config.json and vocab.txt of the converted MiniLM.
        ckpt_prefix: the fine-tuned checkpoint's prefix (`.../bert_model.ckpt`).
        variables: all its variables {Google name: float32 array}, classifier included.
    """

    config_path: Path
    vocab_path: Path
    ckpt_prefix: Path
    variables: dict

    def model_flags(self, model_format="CKPT", checkpoint=None):
        """main.py's model flags; `checkpoint` replaces the checkpoint path (e.g. an .hdf5)."""
        return ["--BERT_CONFIG_PATH", str(self.config_path),
                "--CHECKPOINT_PATH", str(checkpoint or self.ckpt_prefix),
                "--VOCAB_PATH", str(self.vocab_path), "--MODEL_FORMAT", model_format]


@pytest.fixture(scope="session")
def minilm_hf_dir():
    """The Hugging Face directory of the installed MiniLM (config.json, model.safetensors)."""
    return Path(default_hf_dir())


@pytest.fixture(scope="session")
def minilm_google(tmp_path_factory, minilm_hf_dir):
    """The real MiniLM converted to Google's layout, once per session (a folder)."""
    out_dir = tmp_path_factory.mktemp("minilm_google")
    convert_hf(minilm_hf_dir, out_dir)
    return out_dir


def _fine_tune(tmp_path_factory, minilm_google, num_labels, seed):
    """Writes MiniLM plus a random classifier as a Google fine-tuned checkpoint.

    Args:
        tmp_path_factory: pytest's factory, for the checkpoint's folder.
        minilm_google: the converted MiniLM folder.
        num_labels: the classifier's outputs (1 for STS-B regression).
        seed: the classifier's random seed.
    """
    reader = tf.train.load_checkpoint(str(minilm_google / CKPT_NAME))
    variables = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    hidden = variables["bert/pooler/dense/bias"].shape[0]
    rng = np.random.default_rng(seed)
    variables["output_weights"] = (_CLASSIFIER_SCALE * rng.standard_normal((num_labels, hidden))
                                   ).astype(np.float32)
    variables["output_bias"] = rng.standard_normal(num_labels).astype(np.float32)
    prefix = tmp_path_factory.mktemp(f"fine_tuned_{num_labels}") / CKPT_NAME
    write_google_checkpoint(prefix, variables)
    return FineTuned(minilm_google / "bert_config.json", minilm_google / "vocab.txt", prefix,
                     variables)


@pytest.fixture(scope="session")
def fine_tuned_classifier(tmp_path_factory, minilm_google):
    """MiniLM fine-tuned for a two-class task (MRPC, RTE): a `FineTuned`."""
    return _fine_tune(tmp_path_factory, minilm_google, num_labels=2, seed=2020)


@pytest.fixture(scope="session")
def fine_tuned_regressor(tmp_path_factory, minilm_google):
    """MiniLM fine-tuned for STS-B (one output unit): a `FineTuned`."""
    return _fine_tune(tmp_path_factory, minilm_google, num_labels=1, seed=2021)


@dataclasses.dataclass(frozen=True)
class TrainingRun:
    """A finished run of the README's training command on a few real MRPC rows.

    Args:
        out: its OUTPUT_DIR.
        data_dir: its DATA_DIR (64 train, 48 dev rows of the real MRPC).
        model_flags: main.py's task and model flags of the run, --CHECKPOINT_PATH aside
            (task, bert_config.json, vocab.txt, seq_len 48).
        common: `model_flags` with DATA_DIR and OUTPUT_DIR: what every later command on this
            run shares; add --CHECKPOINT_PATH and the mode's flags.
        training: the training-only flags the run was given after `common`.
    """

    out: Path
    data_dir: Path
    model_flags: list
    common: list
    training: list


def run_readme_training(tmp_path_factory, minilm_google, name="readme_training", data_dir=None,
                        extra=()):
    """Runs the README's training command (1 epoch, seq_len 48) on 64 real MRPC training rows.

    Args:
        tmp_path_factory: pytest's factory, for the folders.
        minilm_google: the converted MiniLM folder.
        name: the run's folder name.
        data_dir: an existing DATA_DIR to reuse (default: made here from real MRPC rows).
        extra: more main.py flags for the training run.

    Returns:
        A `TrainingRun`.
    """
    import main

    base = tmp_path_factory.mktemp(name)
    if data_dir is None:
        data_dir = base / "MRPC"
        data_dir.mkdir()
        for split, rows in (("train", 64), ("dev", 48)):
            lines = (real_data("glue", "MRPC", f"{split}.tsv").read_text(encoding="utf-8-sig")
                     .splitlines())
            (data_dir / f"{split}.tsv").write_text("\n".join(lines[: rows + 1]) + "\n",
                                                   encoding="utf-8")
    task_config = base / "task_config.json"
    task_config.write_text('{"mrpc": {"seq_len": 48}}')
    out = base / "out"
    model_flags = ["--TASK", "mrpc", "--BERT_CONFIG_PATH", f"{minilm_google}/bert_config.json",
                   "--VOCAB_PATH", f"{minilm_google}/vocab.txt",
                   "--TASK_CONFIG_PATH", str(task_config)]
    common = model_flags + ["--DATA_DIR", str(data_dir), "--OUTPUT_DIR", str(out)]
    training = ["--CHECKPOINT_PATH", f"{minilm_google}/bert_model.ckpt", "--EPOCH", "1",
                "--BATCH_SIZE", "32", "--LR_SOFT_EXTRACT", "0.05", "--LR_BERT", "0.00006",
                "--LAMBDA", "0.05", *extra]
    assert main.main(common + training) == 0
    return TrainingRun(out, data_dir, model_flags, common, training)


@pytest.fixture(scope="session")
def readme_training(tmp_path_factory, minilm_google):
    """The README's training command, run once per session on real MRPC rows: a `TrainingRun`."""
    return run_readme_training(tmp_path_factory, minilm_google)


@pytest.fixture(scope="session")
def hf_tensors():
    """The real MiniLM's Hugging Face tensors {name: array}, read by the `safetensors` package."""
    return safetensors.numpy.load_file(str(MINILM_DIR / "model.safetensors"))


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    """The real MiniLM converted by the CLI with one argument (so HF_DIR is the default)."""
    out_dir = tmp_path_factory.mktemp("minilm") / "bert"
    assert convert_main([str(out_dir)]) == 0
    return out_dir


ALBERT_CONFIG = {"hidden_size": 32, "embedding_size": 16, "num_hidden_layers": 4,
                 "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
                 "max_position_embeddings": ALBERT_SEQ_LEN, "type_vocab_size": 2,
                 "num_hidden_groups": 1, "inner_group_num": 1, "hidden_dropout_prob": 0.1,
                 "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02}


@pytest.fixture(scope="module")
def albert(tmp_path_factory):
    """An ALBERT release as Google ships one: SentencePiece model, config, TF checkpoint.

    The SentencePiece model is trained here on real MRPC and SST-2 sentences with ALBERT's
    special pieces (<pad>=0, <unk>=1, [CLS]=2, [SEP]=3, [MASK]=4); the weights are random.
    """
    root = tmp_path_factory.mktemp("albert")
    sentences = [line.split("\t")[0] for line in glue_lines("SST-2", "train", 2000)[1:]]
    sentences += [text for line in glue_lines("MRPC", "train", 1500)[1:]
                  for text in line.rstrip("\n").split("\t")[3:5]]
    spm = train_sentencepiece(root / "30k-clean", sentences, vocab_size=1000,
                              control_symbols=["[CLS]", "[SEP]", "[MASK]"])
    raw_config = {"vocab_size": sentencepiece.SentencePieceProcessor(model_file=spm)
                  .get_piece_size(), **ALBERT_CONFIG}
    (root / "albert_config.json").write_text(json.dumps(raw_config))
    config = load_config(str(root / "albert_config.json"))
    assert config.is_albert
    variables = random_variables(config, num_labels=2)
    write_google_checkpoint(str(root / "model.ckpt"), variables)
    return types.SimpleNamespace(spm=spm, config_path=str(root / "albert_config.json"),
                                 ckpt=str(root / "model.ckpt"), config=config,
                                 raw_config=raw_config, variables=variables)
