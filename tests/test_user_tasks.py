"""A task of the user's own data, defined by an entry of --TASK_CONFIG_PATH (issue 37).

- Every format is read as documented: CSV with quoted commas and line breaks, TSV where a
  quote is text, JSON Lines, a header or column numbers.
- Each kind of bad data is one line on stderr naming file, line and column, exit 2, nothing
  written.
- Entries describing MRPC's and STS-B's own files predict exactly what the built-in rows do.
- Prediction streams: the test file is read lazily, a chunk of rows at a time.
"""

import json
import os
import signal

import numpy as np
import pytest

import main
from benchmarks import models
from checkpoints.google import write_google_checkpoint
from checkpoints.hdf5 import read_hdf5_metadata
from data.glue import read_examples
from data.predictions import PREDICTED_LABELS, PREDICTIONS
from data.readers import stream_examples
from data.tasks import get_task
from deploy import export
from errors import UserError
from modeling.config import BertConfig
from runs import run as runs
from scoring.metrics import glue_metrics
from tests.data_paths import real_data
from tests.helpers import MINILM_DIR, make_tiny_run, random_variables
from tokenization import load_tokenizer
from training import steps

_SINGLE = {"train": "train.csv", "dev": "dev.csv", "test": "test.csv", "text": "text",
           "label": "label", "seq_len": 24}


def _task(tmp_path, files, **entry):
    """Writes `files` ({name: text}) into tmp_path/data and an entry "mine"; returns the Task."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, text in files.items():
        (data / name).write_text(text, encoding="utf-8")
    config = tmp_path / "tasks.json"
    # A None value drops the key from the entry.
    entry = {k: v for k, v in {**_SINGLE, **entry}.items() if v is not None}
    config.write_text(json.dumps({"mine": entry}))
    return get_task("mine", config, data), data


def test_csv_quoted_fields_hold_commas_quotes_and_line_breaks(tmp_path):
    text = ('label,text\nb,"one, two"\na,"say ""hi""\nand go"\n'
            'b,plain\n')
    task, data = _task(tmp_path, {"train.csv": text})
    rows = read_examples(task, data, "train")
    assert [(e.guid, e.text_a, e.label) for e in rows] == [
        ("train-2", "one, two", "b"), ("train-3", 'say "hi"\nand go', "a"),
        ("train-5", "plain", "b")]
    assert task.labels == ("a", "b")  # no "labels": train's values, sorted


def test_a_csv_field_may_be_longer_than_csv_modules_default_limit(tmp_path):
    long_text = "word " * 40000  # 200,000 characters; csv's default limit is 131,072
    task, data = _task(tmp_path, {"train.csv": f'label,text\na,"{long_text}"\nb,x\n'})
    assert read_examples(task, data, "train")[0].text_a == long_text


def test_tsv_reads_quotes_as_text_and_a_pair(tmp_path):
    text = 'id\tq\tp\tscore\n1\t"quoted\tsecond "x\t0.5\n2\ta\tb\t4\n'
    task, data = _task(tmp_path, {"train.tsv": text}, train="train.tsv", text="q",
                       text_pair="p", label="score", regression=True, metric="spearman")
    rows = read_examples(task, data, "train")
    assert [(e.text_a, e.text_b, e.label) for e in rows] == [
        ('"quoted', 'second "x', 0.5), ("a", "b", 4.0)]


def test_json_lines_and_column_numbers_without_a_header(tmp_path):
    lines = [{"sentence": "good film", "y": 1}, {"sentence": "bad", "y": 0}]
    task, data = _task(tmp_path, {"train.jsonl": "\n".join(map(json.dumps, lines)) + "\n"},
                       train="train.jsonl", text="sentence", label="y", labels=["0", "1"])
    assert [(e.text_a, e.label) for e in read_examples(task, data, "train")] == [
        ("good film", "1"), ("bad", "0")]
    task, data = _task(tmp_path, {"plain.csv": "x,pos,nice one\ny,neg,awful\n"},
                       train="plain.csv", header=False, text=2, label=1)
    assert [(e.guid, e.text_a, e.label) for e in read_examples(task, data, "train")] == [
        ("train-1", "nice one", "pos"), ("train-2", "awful", "neg")]


def test_without_dev_a_fixed_share_of_train_is_held_out(tmp_path):
    text = "label,text\n" + "".join(f"{'ab'[i % 2]},row {i}\n" for i in range(40))
    task, data = _task(tmp_path, {"train.csv": text}, dev=None)
    train, dev = (read_examples(task, data, split) for split in ("train", "dev"))
    assert (len(train), len(dev)) == (36, 4)
    assert not {e.guid for e in train} & {e.guid for e in dev}
    assert [e.guid for e in read_examples(task, data, "dev")] == [e.guid for e in dev]
    assert "4 of the 40 rows" in dev.note


def test_reading_is_lazy(tmp_path):
    # A bad row far down is only met when reading gets there: prediction can stream.
    text = "label,text\n" + "a,fine\n" * 5 + "c,\n"
    task, data = _task(tmp_path, {"test.csv": text}, labels=["a", "b"])
    _, rows = stream_examples(task, data, "test")
    assert next(rows).text_a == "fine"
    with pytest.raises(UserError, match="line 7"):
        list(rows)


def test_macro_f1_counts_each_class_alike(tmp_path):
    task, _ = _task(tmp_path, {}, labels=["x", "y", "z"], metric="macro_f1")
    outputs = np.eye(3)[[0, 0, 1, 2]]
    # Gold x y y x, predicted x x y z. F1 per class: x 1/2 (precision 1/2, recall 1/2),
    # y 2/3 (1, 1/2), z 0 (predicted once, wrongly); accuracy would be 1/2.
    metrics = glue_metrics(task, np.array([0, 1, 1, 0]), outputs)
    assert metrics["macro_f1"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)


_BAD = {
    # case: (files, entry changes, mode, the file and line the message must name)
    "label not in train": ({"dev.csv": "label,text\na,x\nz,y\n"}, {}, "train",
                           "dev.csv, line 3, column 'label': label 'z'"),
    "empty text": ({"train.csv": "label,text\na,x\nb,  \n"}, {}, "train",
                   "train.csv, line 3, column 'text': an empty text"),
    "missing column": ({"train.csv": "label,words\na,x\nb,y\n"}, {}, "train",
                       "train.csv, line 1 (the header): no column 'text'"),
    "too few fields": ({"train.csv": "label,text\na,x\nb\n"}, {}, "train",
                       "train.csv, line 3: 1 comma-separated fields, too few"),
    "too many fields": ({"train.csv": "label,text\na,x\nb,x,y\n"}, {}, "train",
                        "train.csv, line 3: 3 comma-separated fields, too many"),
    "score not a number": ({"train.csv": "label,text\n1.5,x\nlots,y\n"},
                           {"regression": True}, "train",
                           "train.csv, line 3, column 'label': the score 'lots'"),
    "json line not an object": ({"train.jsonl": '{"text": "x", "label": "a"}\n["b"]\n'},
                                {"train": "train.jsonl"}, "train",
                                "train.jsonl, line 2: a JSON list, not an object"),
    "unknown key": ({}, {"lable": "y"}, "train", "unknown key 'lable'"),
    "no train file": ({}, {"train": None}, "train", 'has no "train"'),
    "unknown metric": ({}, {"metric": "auc"}, "train", "'auc'"),
    "built-in name": ({}, {"name": "mrpc"}, "train", "'mrpc' defines a task"),
    "test label not in train": ({"test.csv": "label,text\na,x\nq,y\n"}, {}, "predict",
                                "test.csv, line 3, column 'label': label 'q'"),
}
_GOOD = {"train.csv": "label,text\na,x\nb,y\n", "dev.csv": "label,text\na,x\n",
         "test.csv": "label,text\na,x\n"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_run(tmp_path_factory.mktemp("tiny"), rows=8, deterministic=True)


@pytest.mark.parametrize("case", _BAD, ids=list(_BAD))
def test_bad_data_is_one_line_naming_file_line_column_exit_2_nothing_written(
        case, tiny, tmp_path, capsys):
    files, changes, mode, named = _BAD[case]
    data = tmp_path / "data"
    data.mkdir()
    for name, text in {**_GOOD, **files}.items():
        (data / name).write_text(text, encoding="utf-8")
    name = changes.pop("name", "mine")
    entry = {key: value for key, value in {**_SINGLE, **changes}.items() if value is not None}
    (tmp_path / "tasks.json").write_text(json.dumps({name: entry}))
    out = tmp_path / "out"
    argv = tiny.argv(out=out)
    argv[argv.index("--TASK") + 1] = name
    argv[argv.index("--DATA_DIR") + 1] = str(data)
    argv[argv.index("--TASK_CONFIG_PATH") + 1] = str(tmp_path / "tasks.json")
    if mode == "predict":
        argv += ["--PREDICT_ONLY"]
    assert main.main(argv) == 2
    _, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0], err
    assert not out.exists()


# Entries that describe GLUE's own files of the built-in tasks, column by column.
_AS_ENTRIES = {
    "mrpc": {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv", "text": "#1 String",
             "text_pair": "#2 String", "label": "Quality", "labels": ["0", "1"],
             "metric": "f1", "seq_len": 64},
    "sts-b": {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv", "text": "sentence1",
              "text_pair": "sentence2", "label": "score", "regression": True,
              "metric": "spearman", "seq_len": 64},
}


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    """{"mrpc", "sts-b": main.py's model flags}: a small random BERT with MiniLM's vocabulary,
    with a classifier of two classes and with one score. Whether an entry predicts what the
    built-in task does needs no trained weights, and eight runs of it take seconds."""
    folder = tmp_path_factory.mktemp("small_models")
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                        type_vocab_size=2)
    (folder / "bert_config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")
    flags = {}
    for builtin, num_labels in (("mrpc", 2), ("sts-b", 1)):
        prefix = folder / builtin / "bert_model.ckpt"
        write_google_checkpoint(prefix, random_variables(config, num_labels))
        flags[builtin] = ["--BERT_CONFIG_PATH", str(folder / "bert_config.json"),
                          "--CHECKPOINT_PATH", str(prefix),
                          "--VOCAB_PATH", str(MINILM_DIR / "vocab.txt")]
    return flags


@pytest.mark.parametrize("builtin", list(_AS_ENTRIES))
def test_an_entry_for_glue_files_predicts_what_the_built_in_task_does(
        builtin, small_models, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    source = real_data("glue", builtin.upper())
    lines = (source / "dev.tsv").read_text(encoding="utf-8-sig").splitlines()[:41]
    (data / "dev.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # STS-B's test file is not on hand: dev's rows in GLUE's test layout (no score).
    (data / "test.tsv").write_text("\n".join(line.rsplit("\t", 1)[0] for line in lines) + "\n"
                                   if builtin == "sts-b" else
                                   "".join((source / "test.tsv").open(encoding="utf-8")
                                           .readlines()[:41]), encoding="utf-8")
    config = tmp_path / "tasks.json"
    config.write_text(json.dumps({builtin: {"seq_len": 64}, "own": _AS_ENTRIES[builtin]}))
    outputs = {}
    for task in (builtin, "own"):
        for mode in ("--PREDICT_ONLY", "--EVAL_ONLY"):
            out = tmp_path / f"{task}{mode}"
            assert main.main(["--TASK", task, "--TASK_CONFIG_PATH", str(config),
                              "--DATA_DIR", str(data), "--OUTPUT_DIR", str(out), mode,
                              *small_models[builtin]]) == 0
        outputs[task] = np.loadtxt(tmp_path / f"{task}--PREDICT_ONLY" / PREDICTIONS)
        log = (tmp_path / f"{task}--EVAL_ONLY" / "log_file.txt").read_text()
        outputs[task, "dev"] = log.split("dev metrics over all")[1].splitlines()[0]
    assert len(outputs["own"]) == 40
    assert outputs[builtin].std(axis=0).max() > 1e-3  # rows differ, so equal outputs say much
    np.testing.assert_allclose(outputs["own"], outputs[builtin], rtol=0, atol=1e-6)
    assert outputs["own", "dev"] == outputs[builtin, "dev"]
    labels = (tmp_path / "own--PREDICT_ONLY" / PREDICTED_LABELS).read_text().split()
    expected = ([f"{v:.8g}" for v in outputs[builtin]] if builtin == "sts-b" else
                [str(i) for i in outputs[builtin].argmax(axis=1)])
    assert labels == expected


def test_prediction_reads_the_test_file_a_chunk_at_a_time(tiny, tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name, text in _GOOD.items():
        (data / name).write_text(text, encoding="utf-8")
    (data / "test.csv").write_text("text\n" + "".join(f"word {i}\n" for i in range(10)))
    (tmp_path / "tasks.json").write_text(json.dumps({"mine": _SINGLE}))
    encoded = []
    encode = runs.encode
    monkeypatch.setattr(runs, "CHUNK_ROWS", 4)
    monkeypatch.setattr(runs, "encode", lambda rows, *a: encoded.append(len(rows)) or
                        encode(rows, *a))
    argv = tiny.argv("--PREDICT_ONLY", out=tmp_path / "out")
    argv[argv.index("--TASK") + 1] = "mine"
    argv[argv.index("--DATA_DIR") + 1] = str(data)
    argv[argv.index("--TASK_CONFIG_PATH") + 1] = str(tmp_path / "tasks.json")
    assert main.main(argv) == 0
    assert encoded == [4, 4, 2]
    predicted = (tmp_path / "out" / PREDICTED_LABELS).read_text().split()
    probabilities = np.loadtxt(tmp_path / "out" / PREDICTIONS)
    assert len(predicted) == 10 and predicted == [("a", "b")[i] for i in
                                                  probabilities.argmax(axis=1)]


@pytest.mark.slow
def test_three_steps_record_the_task_the_model_runs_only_for_its_labels_exports_name_them(
        tiny, tmp_path, capsys, monkeypatch):
    # tiny's MRPC rows as a user task with no dev file: dev is held out of train.
    entry = {"train": "train.tsv", "test": "test.tsv", "text": "#1 String",
             "text_pair": "#2 String", "label": "Quality", "labels": ["0", "1"], "seq_len": 24}
    config = tmp_path / "tasks.json"
    config.write_text(json.dumps({"pairs": entry}))
    argv = tiny.argv("--RETENTION_MODE", "relative", "--DISTILL", out=tmp_path / "out")
    argv[argv.index("--TASK") + 1] = "pairs"
    argv[argv.index("--TASK_CONFIG_PATH") + 1] = str(config)
    with monkeypatch.context() as patch:  # stopped after step 1, as `kill` would stop it
        patch.setattr(steps, "configuration_search",
                      lambda *a, **k: os.kill(os.getpid(), signal.SIGTERM))
        assert main.main(argv) == 130
    assert main.main(argv + ["--RESUME"]) == 0
    log = (tmp_path / "out" / "log_file.txt").read_text()
    # Once per run, the stopped one and the resumed one: the same rows held out in both.
    notes = [line for line in log.splitlines() if "held out of training" in line]
    assert len(notes) == 2 and notes[0] == notes[1] and "1 of the 8 rows" in notes[0]
    model = tmp_path / "out" / "retrained.hdf5"
    assert read_hdf5_metadata(model)["task_definition"] == {
        **entry, "header": True, "metric": "accuracy", "lr_bert": 3e-5,
        "lr_soft_extract": 1e-3, "lambda": 1e-3, "batch_size": 32, "epochs": 3}
    common = ["--TASK", "pairs", "--TASK_CONFIG_PATH", str(config), "--DATA_DIR",
              str(tiny.data_dir), "--BERT_CONFIG_PATH", str(tiny.config), "--VOCAB_PATH",
              str(tiny.vocab), "--CHECKPOINT_PATH", str(model)]
    assert main.main(common + ["--OUTPUT_DIR", str(tmp_path / "pred"), "--PREDICT_ONLY"]) == 0
    assert len((tmp_path / "pred" / PREDICTED_LABELS).read_text().split()) == 8
    capsys.readouterr()
    config.write_text(json.dumps({"pairs": {**entry, "labels": ["1", "0"]}}))
    assert main.main(common + ["--OUTPUT_DIR", str(tmp_path / "swapped"), "--EVAL_ONLY"]) == 2
    assert "with labels 0, 1 in this order" in capsys.readouterr().err
    assert not (tmp_path / "swapped").exists()
    config.write_text(json.dumps({"pairs": entry}))
    onnx_dir = tmp_path / "onnx"
    assert export.main([str(onnx_dir), "--FORMAT", "onnx", *common]) == 0
    record = json.loads((onnx_dir / "power_bert.json").read_text())
    assert record["labels"] == ["0", "1"] and record["task_definition"]["text_pair"] == "#2 String"


def test_benchmarks_read_a_user_task_from_its_entry(tiny, tmp_path):
    trec = real_data("trec")
    config = tmp_path / "tasks.json"
    config.write_text(json.dumps({"trec-coarse": {
        "train": "train.csv", "test": "test.csv", "text": "question", "label": "coarse_label",
        "seq_len": 64}}))
    features = models.real_inputs(load_tokenizer(str(tiny.vocab), False), 64, trec,
                                  "trec-coarse", rows=5, split="test", task_config=config)
    assert len(features) == 5 and features.lengths.min() > 3
