"""ALBERT end to end through `main.main`: a SentencePiece model trained on real GLUE sentences,
a small random ALBERT written in Google's checkpoint layout, and real MRPC rows.

PREDICT_ONLY is checked against Hugging Face's `AlbertModel` (full retention; inputs from
Hugging Face's own AlbertTokenizer) and against the NumPy reference (reduced retention);
the three training steps are checked for the hand-over of ALBERT's one shared block and
for an EVAL_ONLY that reproduces the logged dev metric.
"""

import json
import math
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import main
from checkpoints.google import read_google_checkpoint
from checkpoints.hdf5 import read_hdf5_weights
from data.features import encode
from data.glue import read_examples
from data.tasks import get_task
from tests import numpy_reference
from tests.helpers import ALBERT_SEQ_LEN, glue_lines
from tokenization import load_tokenizer

SEQ_LEN = ALBERT_SEQ_LEN  # the albert fixture's positions
TRAIN_SEQ_LEN = 32
SHARED_BLOCK = ("Encoder-MultiHeadSelfAttention", "Encoder-MultiHeadSelfAttention-Norm",
                "Encoder-FeedForward", "Encoder-FeedForward-Norm")


def mrpc_dir(path, **rows_per_split):
    """A DATA_DIR holding the first rows of the real MRPC splits, e.g. train=48."""
    path.mkdir()
    for split, rows in rows_per_split.items():
        (path / f"{split}.tsv").write_text("".join(glue_lines("MRPC", split, rows)),
                                           encoding="utf-8", newline="")
    return path


def run_main(albert, data_dir, output_dir, *flags):
    argv = ["--TASK", "mrpc", "--BERT_CONFIG_PATH", albert.config_path, "--VOCAB_PATH",
            albert.spm, "--DATA_DIR", str(data_dir), "--OUTPUT_DIR", str(output_dir), *flags]
    if "--CHECKPOINT_PATH" not in flags:
        argv += ["--CHECKPOINT_PATH", albert.ckpt]
    assert main.main(argv) == 0


# ---------------------------------------------------------------- independent references

@pytest.fixture(scope="module")
def hugging_face_tokenizer(albert, tmp_path_factory):
    """Hugging Face's AlbertTokenizer (uncased) over the fixture's SentencePiece model."""
    from transformers import AlbertTokenizer

    folder = tmp_path_factory.mktemp("hf_tokenizer")
    (folder / "spiece.model").write_bytes(Path(albert.spm).read_bytes())
    return AlbertTokenizer.from_pretrained(str(folder), do_lower_case=True, keep_accents=False)


def fitting_mrpc_test_dir(path, tokenizer, rows):
    """A DATA_DIR whose test.tsv holds the first `rows` real MRPC test pairs that fit SEQ_LEN.

    Tokenizers truncate pairs in different ways; the rows are chosen so that none has to.
    """
    header, *lines = glue_lines("MRPC", "test", 300)
    pairs = [line.rstrip("\n").split("\t")[3:5] for line in lines]
    lengths = [len(ids) for ids in tokenizer(*zip(*pairs))["input_ids"]]
    fitting = [line for line, length in zip(lines, lengths) if length <= SEQ_LEN][:rows]
    assert len(fitting) == rows
    path.mkdir()
    (path / "test.tsv").write_text(header + "".join(fitting), encoding="utf-8", newline="")
    return path


def hugging_face_inputs(tokenizer, data_dir):
    """Token ids, segment ids and mask of test.tsv from Hugging Face's AlbertTokenizer."""
    rows = [line.split("\t") for line in
            (data_dir / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    encoded = tokenizer([row[3] for row in rows], [row[4] for row in rows],
                        padding="max_length", max_length=SEQ_LEN, return_token_type_ids=True,
                        return_tensors="np")
    return encoded["input_ids"], encoded["token_type_ids"], encoded["attention_mask"]


def hugging_face_probabilities(albert, inputs, tmp_path):
    """Class probabilities from Hugging Face's AlbertModel, in a process without TensorFlow."""
    np.savez(tmp_path / "variables.npz", **albert.variables)
    np.savez(tmp_path / "inputs.npz", token_ids=inputs[0], segment_ids=inputs[1], mask=inputs[2])
    result = subprocess.run([sys.executable, "-m", "tests.hugging_face_albert",
                             str(tmp_path / "variables.npz"), albert.config_path,
                             str(tmp_path / "inputs.npz"), str(tmp_path / "reference.npy")],
                            cwd=Path(__file__).resolve().parents[1], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return np.load(tmp_path / "reference.npy")


def numpy_probabilities(albert, inputs, retention):
    return np.stack([numpy_reference.forward(albert.variables, albert.raw_config, t, s, m,
                                             retention) for t, s, m in zip(*inputs)])


# ---------------------------------------------------------------- tokenization

def test_albert_features_from_sentencepiece_match_hugging_face(albert, hugging_face_tokenizer,
                                                              tmp_path):
    data_dir = fitting_mrpc_test_dir(tmp_path / "MRPC", hugging_face_tokenizer, 60)
    features = encode(read_examples(get_task("mrpc"), str(data_dir), "test"),
                      load_tokenizer(albert.spm, cased=False), SEQ_LEN)
    expected = hugging_face_inputs(hugging_face_tokenizer, data_dir)
    for ours, theirs in zip((features.token_ids, features.segment_ids, features.input_mask),
                            expected):
        np.testing.assert_array_equal(ours, theirs)
    # [CLS]=2 a [SEP]=3 b [SEP]=3, padded with <pad>=0: ALBERT's ids, not BERT's 101/102.
    lengths = features.input_mask.sum(1)
    assert (features.token_ids[:, 0] == 2).all()
    assert ((features.token_ids == 3).sum(1) == 2).all()
    assert (features.token_ids[np.arange(len(lengths)), lengths - 1] == 3).all()
    assert (features.token_ids[features.input_mask == 0] == 0).all()


# ---------------------------------------------------------------- PREDICT_ONLY

@pytest.fixture(scope="module")
def prediction_setup(albert, hugging_face_tokenizer, tmp_path_factory):
    """16 real MRPC test rows, their Hugging Face inputs, and main.py's full-retention output."""
    tmp_path = tmp_path_factory.mktemp("predict")
    data_dir = fitting_mrpc_test_dir(tmp_path / "MRPC", hugging_face_tokenizer, 16)
    inputs = hugging_face_inputs(hugging_face_tokenizer, data_dir)
    run_main(albert, data_dir, tmp_path / "full", "--PREDICT_ONLY", "--BATCH_SIZE", "8")
    full = np.loadtxt(tmp_path / "full" / "prediction.txt")
    return types.SimpleNamespace(data_dir=data_dir, inputs=inputs, full=full, tmp_path=tmp_path)


@pytest.mark.slow  # Hugging Face's ALBERT in a fresh process (torch)
def test_predict_full_retention_matches_hugging_face_albert(albert, prediction_setup, tmp_path):
    reference = hugging_face_probabilities(albert, prediction_setup.inputs, tmp_path)
    assert prediction_setup.full.shape == (16, 2)
    # Well under the 1e-4: Hugging Face's erf "gelu" would be 1e-4 off here.
    np.testing.assert_allclose(prediction_setup.full, reference, rtol=0, atol=1e-5)
    assert reference[:, 0].std() > 0.01  # the rows really get different outputs


@pytest.mark.parametrize("retention", [[48, 24, 12, 4], [128, 90, 30, 1]],
                         ids=["48-24-12-4", "128-90-30-1"])
def test_predict_reduced_retention_matches_numpy_reference(albert, prediction_setup, retention):
    output_dir = prediction_setup.tmp_path / "-".join(map(str, retention))
    run_main(albert, prediction_setup.data_dir, output_dir, "--PREDICT_ONLY", "--BATCH_SIZE",
             "8", "--RETENTION_CONFIG", ",".join(map(str, retention)))
    ours = np.loadtxt(output_dir / "prediction.txt")
    reference = numpy_probabilities(albert, prediction_setup.inputs, retention)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5)
    # Word vectors really were dropped: the outputs moved away from full retention's.
    assert np.abs(ours - prediction_setup.full).max() > 1e-2


# ---------------------------------------------------------------- the three training steps

def logged_metrics(line):
    """{"loss": 0.6931, "accuracy": 50.0, ...} from a log line ending in format_metrics."""
    return {name: float(value) for name, value in
            re.findall(r"(loss|accuracy|f1|mcc|pearson|spearman) (-?[\d.]+)", line)}


@pytest.mark.slow
def test_training_steps_hand_over_the_shared_block_and_eval_reproduces_the_log(albert,
                                                                                tmp_path):
    # With LR_BERT 0 no weight moves while the retention parameters learn at LR_SOFT_EXTRACT:
    # every file must then hold exactly the checkpoint's one shared block, which checks the
    # hand-over array by array.
    data_dir = mrpc_dir(tmp_path / "MRPC", train=48, dev=24)
    (tmp_path / "task_config.json").write_text(json.dumps({"mrpc": {"seq_len": TRAIN_SEQ_LEN}}))
    out = tmp_path / "out"
    task_config = ["--TASK_CONFIG_PATH", str(tmp_path / "task_config.json")]
    run_main(albert, data_dir, out, *task_config, "--EPOCH", "1", "--BATCH_SIZE", "16",
             "--LR_BERT", "0", "--LR_SOFT_EXTRACT", "0.6", "--LAMBDA", "0.1")
    log = (out / "log_file.txt").read_text(encoding="utf-8")
    retention = [int(v) for v in
                 re.search(r"Retention Configuration : \[([\d, ]+)\]", log).group(1).split(",")]

    initial = read_google_checkpoint(albert.ckpt, albert.config.num_hidden_layers,
                                     TRAIN_SEQ_LEN, albert=True)
    files = {name: read_hdf5_weights(out / name) for name in
             ("finetune.hdf5", "configuration_search_model.hdf5", "retrained.hdf5")}
    for name, weights in files.items():
        encoder_layers = {layer for layer in weights if layer.startswith("Encoder-")
                          and not layer.endswith("-Soft-Extract")}
        assert encoder_layers == set(SHARED_BLOCK), name  # one block, not one per pass
        assert set(initial) <= set(weights), name
        for layer, arrays in initial.items():
            assert len(weights[layer]) == len(arrays), (name, layer)
            for stored, expected in zip(weights[layer], arrays):
                np.testing.assert_array_equal(stored, expected, err_msg=f"{name} {layer}")

    # The logged configuration is the search file's: l_j = floor(sum r_j), >= 1, non-increasing.
    r = [files["configuration_search_model.hdf5"][
        f"Encoder-{j}-MultiHeadSelfAttention-Soft-Extract"][0] for j in range(1, 5)]
    expected_retention, previous = [], TRAIN_SEQ_LEN
    for r_j in r:
        previous = min(previous, max(1, math.floor(float(np.sum(r_j)))))
        expected_retention.append(previous)
    assert retention == expected_retention
    assert retention[-1] < TRAIN_SEQ_LEN  # the search did reduce

    best = logged_metrics(re.findall(r"Re-training best epoch: dev (.*)", log)[-1])
    run_main(albert, data_dir, out, *task_config, "--EVAL_ONLY", "--MODEL_FORMAT", "HDF5",
             "--CHECKPOINT_PATH", str(out / "retrained.hdf5"), "--BATCH_SIZE", "16",
             "--RETENTION_CONFIG", ",".join(map(str, retention)))
    log = (out / "log_file.txt").read_text(encoding="utf-8")
    evaluated = logged_metrics(re.findall(r"dev metrics over all 24 examples: (.*)", log)[-1])
    assert set(evaluated) == set(best) == {"loss", "accuracy", "f1"}
    for name, value in best.items():
        assert evaluated[name] == pytest.approx(value, abs=1e-4 if name == "loss" else 0.011)

    # And the loss is the checkpoint ALBERT's at that configuration, by the NumPy reference.
    examples = read_examples(get_task("mrpc", str(tmp_path / "task_config.json")),
                             str(data_dir), "dev")
    features = encode(examples, load_tokenizer(albert.spm, cased=False), TRAIN_SEQ_LEN)
    probabilities = numpy_probabilities(
        albert, (features.token_ids, features.segment_ids, features.input_mask), retention)
    labels = np.array([int(example.label) for example in examples])
    loss = -np.mean(np.log(probabilities[np.arange(len(labels)), labels]))
    assert evaluated["loss"] == pytest.approx(loss, abs=1e-4)
