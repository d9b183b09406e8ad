"""IMDB at seq_len 512: the task row, the real review files, truncation, and parity of
--PREDICT_ONLY on real test reviews (mixed-length batches against each review alone; full
retention against BERT; the ONNX export in a fresh process against main.py)."""

import numpy as np
import pytest

from data.features import encode
from data.glue import read_examples
from data.tasks import get_task
from deploy import export, onnx_export, onnx_graph
import main
from scoring.evaluation import predict
from tests.data_paths import real_data
from tests.helpers import ONNX_SERVER, run_outside_repository
from tests.test_inference_e2e import run_main
from tokenization import load_tokenizer

PARITY_ROWS = 100
SHARES = "0.8,0.6,0.45,0.25,0.1,0.05"


def test_task_row():
    task = get_task("IMDB")
    assert (task.seq_len, task.labels, task.metric, task.glue_file) == (512, ("0", "1"),
                                                                        "accuracy", None)


@pytest.mark.parametrize("split, rows", [("train", 4000), ("dev", 1000), ("test", 1000)])
def test_real_review_files_read_as_they_are(split, rows):
    examples = read_examples(get_task("imdb"), str(real_data("imdb")), split)
    assert len(examples) == rows
    raw = real_data("imdb", f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
    column = 0 if split != "test" else 1
    # Quoting off: quotes, and the dataset's own <br /> tags, stay in the text as written.
    assert [e.text_a for e in examples] == [line.split("\t")[column] for line in raw]
    assert any('"' in e.text_a for e in examples) and any("<br />" in e.text_a for e in examples)
    if split != "test":
        assert sorted({e.label for e in examples}) == ["0", "1"]
        assert sum(e.label == "1" for e in examples) == rows // 2
    else:
        assert [e.guid for e in examples] == [line.split("\t")[0] for line in raw]


def test_truncation_is_counted(fine_tuned_classifier):
    tokenizer = load_tokenizer(fine_tuned_classifier.vocab_path, cased=False)
    examples = read_examples(get_task("imdb"), str(real_data("imdb")), "dev")
    features = encode(examples, tokenizer, 512)
    longer = sum(len(tokenizer.tokenize(e.text_a)) + 2 > 512 for e in examples)
    assert features.truncated == longer == 144  # the data's README: 14.4% of dev
    assert features.lengths.max() == 512
    assert features.truncation_note("dev", 512).startswith(
        "144 of 1000 dev inputs (14.4%) are longer than seq_len 512")
    assert encode(examples[:20], tokenizer, 4096).truncated == 0


@pytest.fixture(scope="module")
def imdb_test_dir(tmp_path_factory):
    """DATA_DIR with the header and the first PARITY_ROWS reviews of the real test.tsv."""
    data_dir = tmp_path_factory.mktemp("imdb")
    lines = real_data("imdb", "test.tsv").read_bytes().splitlines(keepends=True)
    (data_dir / "test.tsv").write_bytes(b"".join(lines[:PARITY_ROWS + 1]))
    return data_dir


def _predict_only(fine_tuned, data_dir, out, *flags):
    run_main("--TASK", "imdb", "--DATA_DIR", data_dir, "--OUTPUT_DIR", out, "--PREDICT_ONLY",
             "--BATCH_SIZE", 16, *fine_tuned.model_flags(), *flags)
    return out, np.loadtxt(out / "prediction.txt", ndmin=2)


def _test_features(fine_tuned, data_dir):
    return encode(read_examples(get_task("imdb"), str(data_dir), "test"),
                  load_tokenizer(fine_tuned.vocab_path, cased=False), 512)


@pytest.fixture(scope="module")
def relative_prediction(fine_tuned_classifier, imdb_test_dir, tmp_path_factory):
    """main.py --PREDICT_ONLY in relative mode (SHARES) on the real test reviews:
    (OUTPUT_DIR, probabilities)."""
    return _predict_only(fine_tuned_classifier, imdb_test_dir,
                         tmp_path_factory.mktemp("imdb_relative") / "out",
                         "--RETENTION_CONFIG", SHARES, "--RETENTION_MODE", "relative")


@pytest.mark.slow  # MiniLM at 512: three main.py runs and 100 reviews alone
def test_relative_predict_only_on_real_reviews_equals_each_review_alone(
        fine_tuned_classifier, imdb_test_dir, relative_prediction, tmp_path):
    from checkpoints.load import load_weights
    from extract_layers import RetentionConfiguration
    from modeling.bert import build_model
    from modeling.config import load_config

    out, batched = relative_prediction
    log = (out / "log_file.txt").read_text()
    features = _test_features(fine_tuned_classifier, imdb_test_dir)
    assert np.ptp(features.lengths) > 300  # batches of very different lengths
    assert f"{features.truncated} of {PARITY_ROWS} test inputs" in log and features.truncated
    config = load_config(str(fine_tuned_classifier.config_path))
    retention = RetentionConfiguration(mode="relative").parse(SHARES, 6, 512)
    model = build_model(config, 512, 2, retention)
    load_weights(model, str(fine_tuned_classifier.ckpt_prefix), "CKPT", config, 512)
    alone = predict(model, features, 1, "batch")
    assert batched.shape == (PARITY_ROWS, 2)
    assert np.abs(batched - alone).max() < 1e-5
    # ...and the shares matter, so the comparison shows Extract at work.
    _, bert = _predict_only(fine_tuned_classifier, imdb_test_dir, tmp_path / "bert")
    assert np.abs(bert - batched).max() > 1e-3


@pytest.mark.slow  # MiniLM at 512: two main.py runs
def test_full_retention_equals_bert_at_512(fine_tuned_classifier, imdb_test_dir, tmp_path):
    _, bert = _predict_only(fine_tuned_classifier, imdb_test_dir, tmp_path / "padded",
                            "--PADDING", "seq_len")
    _, full = _predict_only(fine_tuned_classifier, imdb_test_dir, tmp_path / "full",
                            "--RETENTION_CONFIG", "1,1,1,1,1,1", "--RETENTION_MODE", "relative")
    assert np.abs(full - bert).max() < 1e-5
    assert bert[:, 1].min() < 0.2 and bert[:, 1].max() > 0.8  # outputs far from uniform


@pytest.mark.slow  # MiniLM at 512, and ONNX Runtime in a fresh process
def test_onnx_export_at_512_gives_main_pys_predictions(fine_tuned_classifier, imdb_test_dir,
                                                       relative_prediction, tmp_path):
    model_dir = tmp_path / "onnx"
    assert export.main(["--TASK", "imdb", "--RETENTION_CONFIG", SHARES,
                        *fine_tuned_classifier.model_flags(), "--FORMAT", "onnx",
                        str(model_dir)]) == 0
    features = _test_features(fine_tuned_classifier, imdb_test_dir)
    np.savez(tmp_path / "inputs.npz", **{key: x.astype(np.int64) for key, x in
                                         zip(onnx_graph.INPUT_NAMES, features.inputs)})
    # Batches of 16 in file order: lengths from a few dozen word pieces up to 512 mixed.
    run_outside_repository(tmp_path, ONNX_SERVER, [{
        "model": str(model_dir / onnx_export.ONNX_NAME), "inputs": str(tmp_path / "inputs.npz"),
        "batch": 16, "out": str(tmp_path / "out.npy")}])
    got, want = np.load(tmp_path / "out.npy"), relative_prediction[1]
    assert got.shape == want.shape == (PARITY_ROWS, 2)
    assert np.abs(got - want).max() < 1e-5


def test_pred_glue_is_one_line(fine_tuned_classifier, imdb_test_dir, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--TASK", "imdb", "--DATA_DIR", str(imdb_test_dir), "--OUTPUT_DIR", str(out),
            "--PREDICT_ONLY", "--PRED_GLUE", *fine_tuned_classifier.model_flags()]
    assert main.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "imdb is not a GLUE task: drop --PRED_GLUE" in err[0]
    assert not out.exists()
