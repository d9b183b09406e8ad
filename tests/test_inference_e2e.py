"""End-to-end inference through `main.main` on the real MiniLM and real GLUE rows (issue 2).

A Google fine-tuned checkpoint of MiniLM (conftest.py) predicts real MRPC test rows; the
probabilities in prediction.txt are checked against independent implementations:
- full retention: Hugging Face's BertModel (torch) on token ids from Hugging Face's own
  BertTokenizer, so tokenization, checkpoint loading and the model are all checked;
- reduced retention configurations: the plain NumPy forward pass of tests/numpy_reference.py
  (written from docs/SPEC.md §1) on the ids our tokenizer produced.
Also: the pair format at seq 256 (RTE), STS-B regression, the GLUE submission file, an
`.hdf5` file in the original's Keras 2.3.1 layout written here by hand with h5py, and
EVAL_ONLY/PREDICT_ONLY without --RETENTION_CONFIG (the original crashed there).
"""

import gc
import json

import h5py
import numpy as np
import pytest
import tensorflow as tf
import torch
from threadpoolctl import threadpool_limits
from transformers import BertModel, BertTokenizer

import main
from checkpoints.google import layer_variables
from data.features import encode
from data.glue import read_examples
from data.tasks import get_task
from tests import numpy_reference
from tests.data_paths import real_data
from tokenization import load_tokenizer

# Row counts are multiples of the batch size: a smaller last batch would make Keras trace
# the model's graph a second time, which costs seconds per run.
BATCH_SIZE = 16
MRPC_ROWS = 48
RTE_ROWS = 16
STSB_ROWS = 32
DEV_ROWS = 32
TOLERANCE = 1e-4
REDUCED = ["100,80,64,40,24,12", "64,32,16,8,4,2"]
# Every reduced configuration must move some probability by more than this from full
# retention, or comparing it with the reference would not show that Extract works.
MIN_EFFECT = 1e-3


# ---------------------------------------------------------------- helpers

def write_tsv(path, header, rows):
    """Writes a GLUE-style TSV: tab-separated, no quoting."""
    path.write_text("".join("\t".join(map(str, row)) + "\n" for row in [header, *rows]),
                    encoding="utf-8")


def read_tsv(path):
    """(header, rows) of a TSV file, split on tabs only (GLUE has no quoting)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def copy_glue_rows(task_dir, split, rows, data_dir):
    """Copies the header and the first `rows` rows of a real GLUE file into `data_dir`."""
    lines = real_data("glue", task_dir, f"{split}.tsv").read_bytes().splitlines(keepends=True)
    (data_dir / f"{split}.tsv").write_bytes(b"".join(lines[:rows + 1]))


def run_main(*argv):
    """Runs main.py in-process; the run must succeed, thaw what it froze out of the garbage
    collector's reach (or this process could never collect those models), and turn Grappler
    back on (or every later graph of this process would run unoptimized)."""
    assert main.main([str(arg) for arg in argv]) == 0
    assert gc.get_freeze_count() == 0
    assert not tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer")


def predict(fine_tuned, task, data_dir, output_dir, retention=None, *extra):
    """PREDICT_ONLY with a fine-tuned checkpoint; returns prediction.txt as [rows, outputs]."""
    flags = [] if retention is None else ["--RETENTION_CONFIG", retention]
    run_main("--TASK", task, "--DATA_DIR", data_dir, "--OUTPUT_DIR", output_dir,
             "--PREDICT_ONLY", "--BATCH_SIZE", BATCH_SIZE, *fine_tuned.model_flags(), *flags,
             *extra)
    return np.loadtxt(output_dir / "prediction.txt", ndmin=2)


def our_features(fine_tuned, task, data_dir):
    """Our tokenizer's model inputs for test.tsv (the ids main.py feeds the model)."""
    return encode(read_examples(task, data_dir, "test"),
                  load_tokenizer(fine_tuned.vocab_path, cased=False), task.seq_len)


def numpy_predictions(fine_tuned, task_name, data_dir, retention=None, padding_votes=False,
                      rows=None):
    """The NumPy reference's outputs for test.tsv, on the ids our tokenizer gives.

    Args:
        fine_tuned: a conftest `FineTuned`.
        task_name: the --TASK.
        data_dir: holds test.tsv.
        retention: "l_1,...,l_L", or None for full retention.
        padding_votes: the original's significance score, on rows padded to seq_len.
        rows: only the first `rows` rows (default: all).

    Returns:
        outputs [n, num_labels] (probabilities, or the STS-B score).
    """
    features = our_features(fine_tuned, get_task(task_name), data_dir)
    config = json.loads(fine_tuned.config_path.read_text())
    # float64 once here, so that the reference does not convert the tables for every row.
    variables = {name: np.asarray(value, np.float64)
                 for name, value in fine_tuned.variables.items()}
    lengths = None if retention is None else [int(v) for v in retention.split(",")]
    # One BLAS thread: on a busy 2-core machine OpenBLAS's spinning threads made it ~10x slower.
    with threadpool_limits(1):
        return np.array([numpy_reference.forward(variables, config, ids, segments, mask, lengths,
                                                 padding_votes)
                         for ids, segments, mask in zip(*(x[:rows] for x in features.inputs))])


def assert_close(got, want):
    assert got.shape == want.shape
    difference = np.max(np.abs(got - want))
    assert difference < TOLERANCE, f"max abs difference {difference:.3g}"


def log_lines(output_dir):
    return (output_dir / "log_file.txt").read_text(encoding="utf-8").splitlines()


# ---------------------------------------------------------------- Hugging Face reference

@pytest.fixture(scope="module")
def hugging_face(minilm_hf_dir):
    """(BertTokenizer, BertModel) of the MiniLM HF directory, float32, eager attention."""
    model = BertModel.from_pretrained(minilm_hf_dir, attn_implementation="eager",
                                      dtype=torch.float32).eval()
    return BertTokenizer.from_pretrained(minilm_hf_dir), model


def hugging_face_probabilities(hugging_face, fine_tuned, pairs, seq_len):
    """Class probabilities from Hugging Face's tokenizer and BertModel plus the classifier.

    Args:
        hugging_face: the fixture's (tokenizer, model).
        fine_tuned: a conftest `FineTuned` (its output_weights/output_bias are the classifier).
        pairs: (sentence1, sentence2) per row.
        seq_len: the task's sequence length.

    Returns:
        (probabilities [n, labels], Hugging Face's input_ids [n, seq_len]).
    """
    tokenizer, model = hugging_face
    inputs = tokenizer([a for a, _ in pairs], [b for _, b in pairs], max_length=seq_len,
                       truncation="longest_first", padding="max_length", return_tensors="pt")
    weights = torch.from_numpy(fine_tuned.variables["output_weights"])
    bias = torch.from_numpy(fine_tuned.variables["output_bias"])
    # Columns past every row's end are masked padding that cannot change [CLS]; leaving them
    # out halves the reference's time, and still shows whether our model ignores its padding.
    width = int(inputs["attention_mask"].sum(dim=1).max())
    with torch.no_grad():
        pooled = model(**{name: value[:, :width] for name, value in inputs.items()}).pooler_output
        probabilities = torch.softmax(pooled @ weights.T + bias, dim=-1)
    return probabilities.numpy(), inputs["input_ids"].numpy()


# ---------------------------------------------------------------- MRPC

@pytest.fixture(scope="module")
def mrpc_test_dir(tmp_path_factory):
    """DATA_DIR with the header and the first MRPC_ROWS rows of the real MRPC test.tsv."""
    data_dir = tmp_path_factory.mktemp("mrpc_data")
    copy_glue_rows("MRPC", "test", MRPC_ROWS, data_dir)
    return data_dir


@pytest.fixture(scope="module")
def mrpc_full_run(tmp_path_factory, fine_tuned_classifier, mrpc_test_dir):
    """PREDICT_ONLY --PRED_GLUE on MRPC without --RETENTION_CONFIG: (output dir, predictions)."""
    output_dir = tmp_path_factory.mktemp("mrpc_full")
    predictions = predict(fine_tuned_classifier, "mrpc", mrpc_test_dir, output_dir, None,
                          "--PRED_GLUE")
    return output_dir, predictions


def test_mrpc_full_retention_matches_hugging_face_bert(mrpc_full_run, fine_tuned_classifier,
                                                       mrpc_test_dir, hugging_face):
    _, predictions = mrpc_full_run
    _, rows = read_tsv(mrpc_test_dir / "test.tsv")
    pairs = [(row[3], row[4]) for row in rows]
    want, hf_ids = hugging_face_probabilities(hugging_face, fine_tuned_classifier, pairs, 128)
    # Both pipelines see the same word pieces (Google's truncation and HF's agree on these rows).
    ours = our_features(fine_tuned_classifier, get_task("mrpc"), mrpc_test_dir)
    np.testing.assert_array_equal(ours.token_ids, hf_ids)
    assert len(predictions) == MRPC_ROWS
    # The random classifier must give varied, confident outputs, or the comparison proves little.
    assert predictions[:, 1].min() < 0.2 and predictions[:, 1].max() > 0.8
    assert_close(predictions, want)


def test_predict_without_retention_config_keeps_every_vector_and_says_so(mrpc_full_run):
    output_dir, _ = mrpc_full_run
    lines = log_lines(output_dir)
    assert any("RETENTION_CONFIG not given" in line for line in lines)
    assert f"Retention Configuration : {[128] * 6}" in lines


def test_mrpc_pred_glue_writes_the_servers_file(mrpc_full_run, mrpc_test_dir):
    output_dir, predictions = mrpc_full_run
    _, test_rows = read_tsv(mrpc_test_dir / "test.tsv")
    header, rows = read_tsv(output_dir / "MRPC.tsv")
    assert header == ["index", "prediction"]
    assert [row[0] for row in rows] == [row[0] for row in test_rows]
    assert [row[1] for row in rows] == [str(label) for label in predictions.argmax(axis=1)]
    assert {row[1] for row in rows} == {"0", "1"}


# Each configuration and each padding once in the quick check (-m "not slow"); the whole
# suite crosses them.
@pytest.mark.parametrize("retention,padding", [
    (REDUCED[0], "batch"), (REDUCED[1], "seq_len"),
    pytest.param(REDUCED[0], "seq_len", marks=pytest.mark.slow),
    pytest.param(REDUCED[1], "batch", marks=pytest.mark.slow)])
def test_mrpc_reduced_retention_matches_numpy_reference(retention, padding, tmp_path,
                                                        mrpc_full_run, fine_tuned_classifier,
                                                        mrpc_test_dir):
    """--PADDING batch: only real words vote; --PADDING seq_len: the original, where padding
    votes too (the reference then runs each row padded to seq_len)."""
    predictions = predict(fine_tuned_classifier, "mrpc", mrpc_test_dir, tmp_path, retention,
                          "--PADDING", padding)
    want = numpy_predictions(fine_tuned_classifier, "mrpc", mrpc_test_dir, retention,
                             padding_votes=padding == "seq_len")
    assert_close(predictions, want)
    _, full = mrpc_full_run
    assert np.max(np.abs(predictions - full)) > MIN_EFFECT
    other = numpy_predictions(fine_tuned_classifier, "mrpc", mrpc_test_dir, retention,
                              padding_votes=padding != "seq_len", rows=BATCH_SIZE)
    # The two scores differ on these rows (on a batch of them is enough to show it).
    assert np.max(np.abs(want[:BATCH_SIZE] - other)) > MIN_EFFECT


# ---------------------------------------------------------------- other formats

@pytest.fixture(scope="module")
def mrpc_pairs():
    """(sentence1, sentence2) of the first 64 real MRPC test rows."""
    _, rows = read_tsv(real_data("glue", "MRPC", "test.tsv"))
    return [(row[3], row[4]) for row in rows[:64]]


@pytest.fixture(scope="module")
def rte_test_dir(tmp_path_factory, mrpc_pairs):
    """RTE's test format (index, sentence1, sentence2) from real MRPC sentences.

    sentence1 joins 1 to 11 consecutive MRPC sentences, so the pairs fill the sequence
    beyond position 128 and some are truncated at 256.
    """
    data_dir = tmp_path_factory.mktemp("rte_data")
    rows = [(i, " ".join(a for a, _ in mrpc_pairs[i:i + 1 + 2 * (i % 6)]), mrpc_pairs[i][1])
            for i in range(RTE_ROWS)]
    write_tsv(data_dir / "test.tsv", ["index", "sentence1", "sentence2"], rows)
    return data_dir


# Full retention is checked in the quick check on MRPC, against Hugging Face's BERT.
@pytest.mark.parametrize("retention", [pytest.param(None, marks=pytest.mark.slow),
                                       "200,160,120,80,40,20"])
def test_rte_pairs_at_seq_256_match_numpy_reference(retention, tmp_path, fine_tuned_classifier,
                                                    rte_test_dir):
    lengths = our_features(fine_tuned_classifier, get_task("rte"), rte_test_dir).input_mask.sum(1)
    assert lengths.max() == 256 and ((lengths > 128) & (lengths < 256)).any()
    predictions = predict(fine_tuned_classifier, "rte", rte_test_dir, tmp_path, retention)
    assert_close(predictions, numpy_predictions(fine_tuned_classifier, "rte", rte_test_dir,
                                                retention))


@pytest.fixture(scope="module")
def stsb_test_dir(tmp_path_factory, mrpc_pairs):
    """STS-B's test format (nine columns, no score) from real MRPC sentence pairs."""
    data_dir = tmp_path_factory.mktemp("stsb_data")
    header = ["index", "genre", "filename", "year", "old_index", "source1", "source2",
              "sentence1", "sentence2"]
    rows = [(i, "main-news", "headlines", "2015", i, "none", "none", a, b)
            for i, (a, b) in enumerate(mrpc_pairs[:STSB_ROWS])]
    write_tsv(data_dir / "test.tsv", header, rows)
    return data_dir


@pytest.mark.parametrize("retention", [pytest.param(None, marks=pytest.mark.slow),
                                       "40,30,20,10,5,2"])
def test_stsb_regression_matches_numpy_reference(retention, tmp_path, fine_tuned_regressor,
                                                 stsb_test_dir):
    predictions = predict(fine_tuned_regressor, "sts-b", stsb_test_dir, tmp_path, retention)
    lines = (tmp_path / "prediction.txt").read_text().splitlines()
    assert len(lines) == STSB_ROWS and all(len(line.split()) == 1 for line in lines)
    assert predictions.std() > 0.1  # varied scores, not one constant
    assert_close(predictions, numpy_predictions(fine_tuned_regressor, "sts-b", stsb_test_dir,
                                                retention))


# ---------------------------------------------------------------- the original's .hdf5

def keras2_layers(variables, num_layers, seq_len):
    """{layer: {weight name: array}} of the original's model, in its layer order (docs/SPEC.md §5).

    Weight names are those keras-bert gave under Keras 2.3.1; layers without weights are
    listed too, as Keras 2 did. Which Google variables fill a layer is checkpoints/google.py's
    table.
    """
    table = dict(layer_variables(num_layers))
    # keras-bert's weight names by kind of layer, in the order of the table's variables.
    weight_names = {"Embedding-Token": ["embeddings"], "Embedding-Segment": ["embeddings"],
                    "Norm": ["gamma", "beta"], "NSP-Dense": ["kernel", "bias"],
                    "MultiHeadSelfAttention": [f"{{layer}}_{kind}{part}" for part in "qkvo"
                                               for kind in "Wb"],
                    "FeedForward": ["{layer}_W1", "{layer}_b1", "{layer}_W2", "{layer}_b2"]}

    def named(layer):
        kind = next(kind for kind in weight_names if layer.endswith(kind))
        return {f"{layer}/{name.format(layer=layer)}:0": variables[source]
                for name, source in zip(weight_names[kind], table[layer], strict=True)}

    layers = {"Input-Token": {}, "Input-Segment": {}, "Embedding-Token": named("Embedding-Token"),
              "Embedding-Segment": named("Embedding-Segment"), "Embedding-Token-Segment": {},
              # The original cut the position table to the task's sequence length.
              "Embedding-Position": {"Embedding-Position/embeddings:0":
                                     variables[table["Embedding-Position"][0]][:seq_len]},
              "Embedding-Dropout": {}, "Embedding-Norm": named("Embedding-Norm")}
    for i in range(1, num_layers + 1):
        for sublayer in ("MultiHeadSelfAttention", "FeedForward"):
            name = f"Encoder-{i}-{sublayer}"
            layers[name] = named(name)
            layers[f"{name}-Dropout"] = {}
            layers[f"{name}-Add"] = {}
            layers[f"{name}-Norm"] = named(f"{name}-Norm")
            if sublayer == "MultiHeadSelfAttention":
                layers[f"{name}-Extract"] = {}
    layers["NSP-Dense"] = named("NSP-Dense")
    layers["NSP"] = {"NSP/kernel:0": variables["output_weights"].T,
                     "NSP/bias:0": variables["output_bias"]}
    return layers


def write_keras2_model_file(path, layers):
    """Writes a whole-model .hdf5 file as Keras 2.3.1 saved it (byte-string attributes)."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.3.1"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = b'{"class_name": "Model", "config": {}}'
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode() for name in layers])
        for layer, arrays in layers.items():
            layer_group = group.create_group(layer)
            layer_group.attrs["weight_names"] = np.array([name.encode() for name in arrays])
            for name, array in arrays.items():
                layer_group.create_dataset(name, data=array)


def metric_lines(output_dir):
    """The log's score lines: `loss : ...`, `accuracy : ...` and the GLUE metric line."""
    return [line for line in log_lines(output_dir)
            if line.startswith(("loss : ", "accuracy : ", "dev metrics over all"))]


def test_originals_hdf5_scores_dev_exactly_as_the_checkpoint(tmp_path, fine_tuned_classifier,
                                                             hugging_face):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    copy_glue_rows("MRPC", "dev", DEV_ROWS, data_dir)
    hdf5_path = tmp_path / "retrained.hdf5"
    write_keras2_model_file(hdf5_path, keras2_layers(fine_tuned_classifier.variables, 6, 128))

    lines = {}
    # The original's file runs as the original did, padded to seq_len, unless told otherwise.
    for model_format, checkpoint, flags in (("CKPT", None, ["--PADDING", "seq_len"]),
                                            ("HDF5", hdf5_path, [])):
        output_dir = tmp_path / model_format
        run_main("--TASK", "mrpc", "--DATA_DIR", data_dir, "--OUTPUT_DIR", output_dir,
                 "--EVAL_ONLY", "--BATCH_SIZE", 2 * BATCH_SIZE,
                 *fine_tuned_classifier.model_flags(model_format, checkpoint), *flags)
        assert any("RETENTION_CONFIG not given" in line for line in log_lines(output_dir))
        lines[model_format] = metric_lines(output_dir)
    assert any(line.startswith("PADDING seq_len (the original PoWER-BERT's")
               for line in log_lines(tmp_path / "HDF5"))
    assert len(lines["CKPT"]) == 3
    assert lines["HDF5"] == lines["CKPT"]

    # The same scores from Hugging Face's BERT, with accuracy and F1 counted by hand.
    _, rows = read_tsv(data_dir / "dev.tsv")
    labels = np.array([int(row[0]) for row in rows])
    probabilities, _ = hugging_face_probabilities(
        hugging_face, fine_tuned_classifier, [(row[3], row[4]) for row in rows], 128)
    predicted = probabilities.argmax(axis=1)
    true_positives = np.sum((predicted == 1) & (labels == 1))
    f1 = 2 * true_positives / (np.sum(predicted == 1) + np.sum(labels == 1))
    loss = -np.mean(np.log(probabilities[np.arange(len(labels)), labels]))
    values = {line.split(" : ")[0]: float(line.split(" : ")[1]) for line in lines["CKPT"][:2]}
    assert values["loss"] == pytest.approx(loss, abs=TOLERANCE)
    assert values["accuracy"] == pytest.approx(100 * np.mean(predicted == labels), abs=1e-9)
    assert f"f1 {100 * f1:.2f}" in lines["CKPT"][2]
