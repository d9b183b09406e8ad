"""benchmarks/: the inference benchmark's table, the FLOP count by hand, the pictures."""

import csv
import dataclasses
import importlib.util
import json
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from benchmarks import (first_batch, inference, models, timing, timing_table, tradeoff,
                        tradeoff_report, tradeoff_runs)
from training.plots import (plot_tradeoff, plot_training_outputs, surviving_words,
                            wrap_word_pieces)
from data.features import Features, truncate_seq_pair
from data.glue import read_examples
from data.tasks import get_task
from errors import UserError
from modeling.bert import build_model
from modeling.config import BertConfig
from extract_layers import RetentionConfiguration, relative_kept
from modeling.flops import flop_reduction, forward_flops, mass_weights
from tests.data_paths import real_data
from tokenization import load_tokenizer

SEQ_LEN, BATCH, ROWS = 64, 4, 10
# Tiny, but with BERT's uncased vocabulary so that real MRPC rows are valid inputs.
TINY = dict(vocab_size=30522, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
            intermediate_size=48, max_position_embeddings=SEQ_LEN, type_vocab_size=2)
RETENTIONS = [RetentionConfiguration((12, 6, 3, 1)), RetentionConfiguration((20, 16, 8, 8))]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(models.load_model_spec(models.MINILM)[2], cased=False)


@pytest.fixture(scope="module")
def mrpc_dir():
    return str(real_data("glue", "MRPC"))


@pytest.fixture(scope="module")
def features(tokenizer, mrpc_dir):
    return models.real_inputs(tokenizer, SEQ_LEN, mrpc_dir, rows=ROWS)


def test_flop_count_matches_a_count_by_hand():
    config = BertConfig(vocab_size=10, hidden_size=4, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=8, max_position_embeddings=5, type_vocab_size=2)
    # Every matrix product (m x k) @ (k x n) is m*n*k multiply-adds = 2*m*k*n FLOPs.
    # N = 5 word vectors, H = 4, two heads of width 2, I = 8, retention 3 then 1, 2 labels.
    products = [
        # block 1 attention on 5 vectors: q, k, v, output projections (5x4 @ 4x4)
        *[(5, 4, 4)] * 4,
        # per head: logits (5x2 @ 2x5) and weighted values (5x5 @ 5x2)
        *[(5, 2, 5), (5, 5, 2)] * 2,
        # block 1 feed-forward on the 3 kept vectors
        (3, 4, 8), (3, 8, 4),
        # block 2 attention on 3 vectors
        *[(3, 4, 4)] * 4, *[(3, 2, 3), (3, 3, 2)] * 2,
        # block 2 feed-forward on 1 vector
        (1, 4, 8), (1, 8, 4),
        # pooler and classifier on [CLS]
        (1, 4, 4), (1, 4, 2),
    ]
    assert forward_flops(config, 5, [3, 1]) == sum(2 * m * k * n for m, k, n in products)
    bert = [*[(5, 4, 4)] * 4, *[(5, 2, 5), (5, 5, 2)] * 2, (5, 4, 8), (5, 8, 4)] * 2 + \
        [(1, 4, 4), (1, 4, 2)]
    assert forward_flops(config, 5) == sum(2 * m * k * n for m, k, n in bert)
    assert flop_reduction(config, 5, RetentionConfiguration((3, 1))) == pytest.approx(
        sum(2 * m * k * n for m, k, n in bert) / sum(2 * m * k * n for m, k, n in products))


def test_time_interleaved_warms_up_then_runs_each_once_per_round_in_rotated_order():
    calls = []
    times = timing.time_interleaved({k: (lambda k=k: calls.append(k)) for k in "abc"},
                                    rounds=4, warmup=2)
    assert calls[:6] == list("aabbcc")
    assert calls[6:] == list("abc" "bca" "cab" "abc")
    assert {k: len(v) for k, v in times.items()} == {"a": 4, "b": 4, "c": 4}


def test_benchmark_rows_speedups_against_both_baselines_with_flop_ideals(features):
    config = BertConfig(**TINY)
    extract = models.extract_cost_retention(config, SEQ_LEN)
    shares = [0.5, 0.3, 0.2, 0.1]
    # A relative configuration first, one twice: each is timed once, the absolute ones first.
    relative = RetentionConfiguration(shares, mode="relative")
    rows = timing.benchmark(config, SEQ_LEN, BATCH, [relative, *RETENTIONS, RETENTIONS[0]],
                            features, rounds=2, warmup=1, keras_hub=False, extract_cost=extract)
    labels = ["BERT-padded", "BERT", "12,6,3,1", "20,16,8,8", "rel:0.5,0.3,0.2,0.1",
              ",".join(map(str, extract.values))]
    assert [row["configuration"] for row in rows] == labels
    assert [row["padding"] for row in rows] == ["seq_len"] + ["batch"] * 4 + ["seq_len"]
    lengths = features.lengths
    assert lengths.min() < SEQ_LEN  # real lengths differ from N
    padded_flops = len(lengths) * forward_flops(config, SEQ_LEN)
    real_flops = sum(forward_flops(config, int(n)) for n in lengths)
    by_label = {row["configuration"]: row for row in rows}
    for label, retention in zip(labels[1:4], [None] + [r.values for r in RETENTIONS]):
        flops = sum(forward_flops(config, int(n), retention) for n in lengths)
        row = by_label[label]
        assert row["ideal_vs_padded"] == pytest.approx(padded_flops / flops)
        assert row["ideal_vs_real"] == pytest.approx(real_flops / flops)
        assert row["of_ideal"] == pytest.approx(row["speedup_vs_real"] / row["ideal_vs_real"])
    relative_flops = sum(forward_flops(config, int(n), relative_kept(shares, int(n)))
                         for n in lengths)
    assert by_label[labels[4]]["ideal_vs_real"] == pytest.approx(real_flops / relative_flops)
    extract_row = by_label[labels[-1]]
    assert extract_row["ideal_vs_padded"] == pytest.approx(
        flop_reduction(config, SEQ_LEN, extract))
    for row in rows:
        assert row["speedup_vs_padded"] == pytest.approx(
            by_label["BERT-padded"]["ms_median"] / row["ms_median"])
        assert row["speedup_vs_real"] == pytest.approx(
            by_label["BERT"]["ms_median"] / row["ms_median"])
        assert row["examples_per_s"] == pytest.approx(len(lengths) / row["ms_median"] * 1000)
        assert 0 < row["ms_min"] <= row["ms_median"]
        assert (row["rows"], row["batch"], row["seq_len"]) == (len(lengths), BATCH, SEQ_LEN)


@pytest.mark.parametrize("with_optimum", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["ours", "and Optimum's BERT"])
def test_onnx_runtime_contestants_run_the_same_batches_and_give_tensorflows_outputs(
        features, with_optimum, monkeypatch):
    if not with_optimum:
        # As where torch or transformers is not installed. Optimum's BERT is the installed
        # MiniLM exported by torch.onnx in a process of its own: most of this test's time.
        monkeypatch.setattr(models, "optimum_onnx_bert", lambda threads: None)
    elif not (importlib.util.find_spec("torch") and importlib.util.find_spec("transformers")):
        pytest.skip("Optimum's BERT needs torch and transformers")
    config = BertConfig(**TINY)
    relative = RetentionConfiguration([0.5, 0.3, 0.2, 0.1], mode="relative")
    rows = timing.benchmark(config, SEQ_LEN, BATCH, [RETENTIONS[0], relative], features,
                            rounds=1, warmup=1, keras_hub=False, onnx=True)
    by_label = {row["configuration"]: row for row in rows}
    ours = ["BERT", "12,6,3,1", "rel:0.5,0.3,0.2,0.1"]
    for label in ours:
        for precision in timing_table.ORT_PRECISIONS:
            row = by_label[timing_table.ort_label(precision, label)]
            assert row["engine"] == "onnxruntime" and row["padding"] == "batch"
            assert row["ideal_vs_real"] == pytest.approx(by_label[label]["ideal_vs_real"])
        fp32 = by_label[timing_table.ort_label("fp32", label)]
        assert fp32["max_diff_vs_tf"] < 1e-5, label
        assert by_label[timing_table.ort_label("int8", label)]["max_diff_vs_tf"] is None
    optimum = [timing_table.ort_label(p, timing_table.OPTIMUM_LABEL)
               for p in timing_table.ORT_PRECISIONS]
    assert [label in by_label for label in optimum] == [with_optimum] * len(optimum)
    for precision in timing_table.ORT_PRECISIONS:
        baseline = min(by_label[timing_table.ort_label(precision, name)]["ms_median"]
                       for name in ("BERT", timing_table.OPTIMUM_LABEL)
                       if timing_table.ort_label(precision, name) in by_label)
        for label in ours:
            row = by_label[timing_table.ort_label(precision, label)]
            assert row["speedup_vs_ort_bert"] == pytest.approx(baseline / row["ms_median"])
    assert by_label["BERT"]["speedup_vs_ort_bert"] is None


def test_cli_prints_every_column_for_every_configuration(tmp_path, capsys, mrpc_dir):
    pytest.importorskip("keras_hub")
    config_path = tmp_path / "bert_config.json"
    config_path.write_text(json.dumps(TINY))
    args = ["--model", str(config_path), "--batch", str(BATCH), "--seq-len", str(SEQ_LEN),
            "--rounds", "2", "--warmup", "1", "--extract-cost", "--data-dir", mrpc_dir,
            "--rows", str(ROWS)]
    for retention in RETENTIONS:
        args += ["--retention", ",".join(map(str, retention.values))]
    assert inference.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("configuration"))
    assert out[header].split() == list(timing_table.COLUMNS)
    table = {}
    for line in out[header + 1:header + 7]:
        label, *cells = line.split()
        table[label] = cells
    extract = ",".join(str(SEQ_LEN - j) for j in range(1, 5))
    assert set(table) == {"BERT-padded", "BERT", "12,6,3,1", "20,16,8,8", extract,
                          "keras-hub-BertBackbone"}
    ideal = timing_table.COLUMNS.index("ideal_vs_real") - 1  # the label is not a cell
    for label, cells in table.items():
        assert len(cells) == len(timing_table.COLUMNS) - 1
        assert (cells[ideal] == "-") == (label == "keras-hub-BertBackbone")  # no FLOP ideal
        assert cells[-2:] == ["-", "-"]  # ONNX Runtime's columns
    assert any(line.startswith("our BERT vs keras-hub BertBackbone") for line in out)
    assert any(line.startswith("one Extract layer costs") for line in out)


def test_cli_user_errors_are_one_line(capsys):
    assert inference.main(["--model", "bert-huge"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_cli_refuses_a_vocab_larger_than_the_model(tmp_path, capsys, mrpc_dir):
    config_path = tmp_path / "bert_config.json"
    config_path.write_text(json.dumps({**TINY, "vocab_size": 1000}))
    assert inference.main(["--model", str(config_path), "--seq-len", str(SEQ_LEN),
                           "--data-dir", mrpc_dir, "--rows", str(ROWS)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has 30522 entries, but --model " \
        f"{config_path} has vocab_size 1000" in err, err


def test_first_batch_probe_times_bert_and_a_relative_model(capsys):
    lines = []
    for extra in ([], ["--relative", "0.8,0.6,0.5,0.2,0.06,0.01"]):
        assert first_batch.main(["--calls", "2", "--seq-len", "32", *extra]) == 0
        lines.append(capsys.readouterr().out.strip().splitlines()[-1])
    nodes = []
    for line, label in zip(lines, ("BERT: ", "relative 0.8,0.6,0.5,0.2,0.06,0.01: ")):
        match = re.fullmatch(re.escape(label) + r"tracing [0-9.]+ s \((\d+) graph nodes\), "
                             r"first run [0-9.]+ s, then [0-9.]+ ms per call on a 3-token row",
                             line)
        assert match, line
        nodes.append(int(match.group(1)))
    assert nodes[1] > nodes[0]  # the Extract layers of the relative model
    assert first_batch.main(["--relative", "0.5,2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --relative ") and err.count("\n") == 1


def test_surviving_words_follow_the_extract_layers(features, tokenizer, mrpc_dir):
    retention = RETENTIONS[0]
    model = build_model(BertConfig(**TINY), SEQ_LEN, 2, retention)
    rows = [0, 2]
    examples = read_examples(get_task("mrpc"), mrpc_dir, "dev")
    for row, (pieces, grid) in zip(rows, surviving_words(model, features, tokenizer, rows)):
        length = int(features.input_mask[row].sum())
        # The word pieces are the row's own text, as Google's BERT lays out a pair.
        a, b = (tokenizer.tokenize(examples[row].text_a),
                tokenizer.tokenize(examples[row].text_b))
        truncate_seq_pair(a, b, SEQ_LEN - 3)
        assert pieces == ["[CLS]", *a, "[SEP]", *b, "[SEP]"]
        assert grid.shape == (len(retention.values), length)
        assert grid[:, 0].all()  # [CLS] is never dropped
        # Padding scores ~0, so real words fill the kept places first; none comes back.
        assert list(grid.sum(axis=1)) == [min(l, length) for l in retention.values]
        assert not (grid[1:] & ~grid[:-1]).any()


def test_pictures_are_written_as_png(tmp_path, features, tokenizer):
    config = BertConfig(**TINY)
    task = dataclasses.replace(get_task("mrpc"), seq_len=SEQ_LEN)
    model = build_model(config, SEQ_LEN, 2, RETENTIONS[0])
    paths = plot_training_outputs(str(tmp_path), config, task, RETENTIONS[0], model, features,
                                  tokenizer)
    plot_tradeoff(str(tmp_path / "tradeoff.png"),
                  {"PoWER-BERT": [(2.1, 0.86, "a"), (3.5, 0.84, "b")],
                   "over seeds": [(2.8, 0.85, "c", (2.6, 3.0), (0.83, 0.86))]},
                  [(0.4, 0.88, "BERT padded to seq_len"), (1.0, 0.88, "BERT on real lengths")],
                  "f1")
    for path in [*paths, str(tmp_path / "tradeoff.png")]:
        assert Path(path).read_bytes()[:8] == PNG_SIGNATURE
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert np.ptp(image) > 0  # something is drawn


def test_word_pieces_wrap_as_the_text_reads():
    pieces = ["[CLS]", "a", "wonder", "##ful", "film", ",", "un", "##watch", "##able", "[SEP]"]
    places = wrap_word_pieces(pieces, 14)
    assert [text for _, _, text in places] == ["[CLS]", "a", "wonder", "ful", "film", ",", "un",
                                               "watch", "able", "[SEP]"]
    lines = {}
    for x, line, text in places:
        lines[line] = lines.get(line, "") + " " * (x - len(lines.get(line, ""))) + text
    assert list(lines.values()) == ["[CLS] a", "wonderful film", ", unwatchable", "[SEP]"]
    assert all(len(text) <= 14 for text in lines.values())
    assert wrap_word_pieces(["a" * 20, "b"], 14) == [(0, 0, "a" * 20), (0, 1, "b")]  # too long


def test_tradeoff_writes_one_csv_line_per_lambda_even_when_configurations_coincide(tmp_path):
    task = get_task("mrpc")

    def row(label, ms, vs_padded, vs_real):
        return dict(configuration=label, ms_median=ms, speedup_vs_padded=vs_padded,
                    ideal_vs_padded=vs_padded + 0.1, speedup_vs_real=vs_real,
                    ideal_vs_real=vs_real + 0.1)

    rows = [row("BERT-padded", 250.0, 1.0, 0.4), row("BERT", 100.0, 2.5, 1.0),
            row("64,32", 40.0, 6.25, 2.5), row("rel:0.5,0.25", 50.0, 5.0, 2.0)]
    results = [("absolute", 0.001, 0, RetentionConfiguration((64, 32)), {"f1": 0.85}),
               ("absolute", 0.002, 0, RetentionConfiguration((64, 32)), {"f1": 0.84}),
               ("relative", 0.001, 0, RetentionConfiguration((0.5, 0.25), "relative"),
                {"f1": 0.86})]
    paths = tradeoff_report.write_outputs(str(tmp_path), task, {"f1": 0.88}, results, rows)
    assert [Path(path).name for path in paths] == [tradeoff_report.CSV_NAME,
                                                   tradeoff_report.PNG_NAME]
    csv_path, png_path = paths
    with open(csv_path, encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert [(line["model"], line["lambda"], line["speedup_vs_padded"], line["speedup_vs_real"],
             line["dev_metric"]) for line in lines] == [
        ("BERT padded to seq_len", "", "1.0", "0.4", "0.88"),
        ("BERT on real lengths", "", "2.5", "1.0", "0.88"),
        ("PoWER-BERT", "0.001", "6.25", "2.5", "0.85"),
        ("PoWER-BERT", "0.002", "6.25", "2.5", "0.84"),
        ("PoWER-BERT, relative retention", "0.001", "5.0", "2.0", "0.86")]
    assert Path(png_path).read_bytes()[:8] == PNG_SIGNATURE


def test_tradeoff_over_seeds_gives_the_median_and_range_of_each_lambda(tmp_path, monkeypatch):
    task = get_task("mrpc")

    def row(label, vs_real):
        return dict(configuration=label, ms_median=100 / vs_real, speedup_vs_padded=2.5 * vs_real,
                    ideal_vs_padded=2.6 * vs_real, speedup_vs_real=vs_real,
                    ideal_vs_real=1.1 * vs_real)

    rows = [row("BERT-padded", 0.4), row("BERT", 1.0), row("rel:0.5,0.2", 2.0),
            row("rel:0.4,0.2", 2.6), row("rel:0.45,0.2", 2.2), row("rel:0.3,0.1", 3.0)]
    def shares(*values):
        return RetentionConfiguration(values, "relative")

    results = [("relative", 0.001, 0, shares(0.5, 0.2), {"accuracy": 0.80, "f1": 0.86}),
               ("relative", 0.002, 0, shares(0.3, 0.1), {"accuracy": 0.75, "f1": 0.82}),
               ("relative", 0.001, 1, shares(0.4, 0.2), {"accuracy": 0.78, "f1": 0.84}),
               ("relative", 0.001, 2, shares(0.45, 0.2), {"accuracy": 0.79, "f1": 0.87})]
    drawn = {}
    monkeypatch.setattr("training.plots.plot_tradeoff",
                        lambda path, curves, references, metric: drawn.update(
                            curves, references=references))
    # With the BERT fine-tuned as long as the runs in all (--equal-budget-bert).
    paths = tradeoff_report.write_outputs(str(tmp_path), task, {"f1": 0.88}, results, rows,
                                          {"accuracy": 0.83, "f1": 0.89})
    assert [Path(path).name for path in paths] == [tradeoff_report.CSV_NAME,
                                                   tradeoff_report.SEEDS_CSV_NAME,
                                                   tradeoff_report.PNG_NAME]
    with open(paths[0], encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert [line["seed"] for line in lines] == ["", "", "", "0", "0", "1", "2"]
    # The same network as BERT on real lengths: its speed; its own dev metric.
    assert {key: lines[2][key] for key in ("model", "speedup_vs_real", "ms_median",
                                           "dev_metric")} == {
        "model": tradeoff_report.BERT_EQUAL_BUDGET, "speedup_vs_real": "1.0",
        "ms_median": "100.0", "dev_metric": "0.89"}
    assert [label for _, _, label in drawn["references"]] == [
        "BERT padded to seq_len", "BERT on real lengths", tradeoff_report.BERT_EQUAL_BUDGET]
    with open(paths[1], encoding="utf-8") as f:
        spreads = list(csv.DictReader(f))
    assert [(line["lambda"], line["seeds"]) for line in spreads] == [("0.001", "3"),
                                                                      ("0.002", "1")]
    first = {key: float(value) for key, value in spreads[0].items() if key != "model"}
    assert (first["dev_f1_median"], first["dev_f1_min"], first["dev_f1_max"]) == (0.86, 0.84, 0.87)
    assert (first["dev_accuracy_median"], first["dev_accuracy_min"]) == (0.79, 0.78)
    assert (first["speedup_vs_real_median"], first["speedup_vs_real_min"],
            first["speedup_vs_real_max"]) == (2.2, 2.0, 2.6)
    assert first["ideal_vs_real_median"] == pytest.approx(1.1 * 2.2)
    # The picture: each LAMBDA at its medians, with its ranges as error bars where it has them.
    points = drawn["PoWER-BERT, relative retention"]
    assert points[0] == (2.2, 0.86, "λ=0.001", (2.0, 2.6), (0.84, 0.87))
    assert points[1] == (3.0, 0.82, "λ=0.002")


def test_tradeoff_seeds_flag():
    args = tradeoff.parse_args(["--data-dir", "d", "--output-dir", "o", "--lambdas", "0.001",
                                "--seeds", "3,1,2"])
    assert args.seeds == [3, 1, 2]
    assert tradeoff.parse_args(["--data-dir", "d", "--output-dir", "o", "--lambdas", "0.001",
                                "--seed", "5"]).seeds == [5]
    for bad in ("1,x", "1,1"):
        with pytest.raises(UserError, match="--seeds"):
            tradeoff.parse_args(["--data-dir", "d", "--output-dir", "o", "--lambdas", "0.001",
                                 "--seeds", bad])


def test_task_defaults_fill_only_what_is_not_given():
    task = get_task("mrpc")
    assert task.unless_given(batch_size=None, lr_bert=0.0, lr_soft_extract=1e-3) == dict(
        batch_size=task.batch_size, lr_bert=0.0, lr_soft_extract=1e-3)  # 0 is a given value


def test_tradeoff_times_the_sweep_on_its_own_tasks_dev_rows(tmp_path, monkeypatch, mrpc_dir):
    seen = {}

    def sweep(context, checkpoint, runs, finetuned_path=None, searched_dir=None):
        seen.update(data=context.data, hp=context.hp, runs=runs, searched_dir=searched_dir)
        return {"f1": 0.88}, [("absolute", 0.001, 0, RetentionConfiguration((64, 32, 16, 8, 4, 2)),
                               {"f1": 0.85})]

    def measure(config, checkpoint, task, results, features, batch, rounds):
        seen.update(features=features, batch=batch, rounds=rounds)
        return []

    monkeypatch.setattr(tradeoff, "sweep", sweep)
    monkeypatch.setattr(tradeoff, "measure", measure)
    monkeypatch.setattr(tradeoff_report, "write_outputs", lambda *args: [])
    assert tradeoff.main(["--data-dir", mrpc_dir, "--output-dir", str(tmp_path),
                          "--lambdas", "0.001", "--lr-bert", "0", "--train-rows", "4",
                          "--dev-rows", str(ROWS), "--bench-batch", str(BATCH),
                          "--rounds", "2"]) == 0
    assert seen["features"] is seen["data"].dev and len(seen["features"]) == ROWS
    assert (seen["batch"], seen["rounds"], seen["runs"]) == (BATCH, 2, [("absolute", 0.001, 0)])
    # The sweep trains the embedded MiniLM: the task table's defaults for it where it has some.
    task = get_task("mrpc").defaults_for(True)
    assert (seen["hp"].lr_bert, seen["hp"].batch_size, seen["hp"].epochs) == (
        0, task.batch_size, task.epochs)
    assert (task.batch_size, task.epochs) != (get_task("mrpc").batch_size, get_task("mrpc").epochs)
    assert seen["features"].token_ids.shape[1] == task.seq_len
    assert tradeoff.main(["--data-dir", mrpc_dir, "--output-dir", str(tmp_path),
                          "--lambdas", "0.001", "--dev-rows", str(ROWS), "--bench-rows", "2",
                          "--train-rows", "4"]) == 0
    assert len(seen["data"].dev) == ROWS and len(seen["features"]) == 2
    assert (seen["features"].token_ids == seen["data"].dev.token_ids[:2]).all()
    assert (seen["hp"].search_epochs, seen["hp"].retrain_epochs) == (task.search_epochs,
                                                                    task.retrain_epochs)
    assert seen["searched_dir"] is None
    assert tradeoff.main(["--data-dir", mrpc_dir, "--output-dir", str(tmp_path),
                          "--lambdas", "0.001", "--dev-rows", str(ROWS), "--train-rows", "4",
                          "--epochs", "3", "--retrain-epochs", "4", "--searched", "earlier"]) == 0
    assert seen["hp"].step_epochs == (3, 3, 4)  # a given --epochs sets the search's too
    assert seen["searched_dir"] == "earlier"
    assert tradeoff.main(["--data-dir", mrpc_dir, "--output-dir", str(tmp_path),
                          "--lambdas", "0.001", "--dev-rows", str(ROWS), "--train-rows", "4",
                          "--search-epochs", "3"]) == 0
    assert seen["hp"].step_epochs == (task.epochs, 3, task.retrain_epochs)


def _search_file(path, record):
    """A configuration search model file holding only its `power_bert` record."""
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["power_bert"] = json.dumps(record)


def test_tradeoff_searched_retrains_from_an_earlier_sweeps_searches(tmp_path, monkeypatch):
    """--searched: each run re-trains at the configuration its namesake in the earlier sweep
    found, from that search's weights, and searches nothing; any run without one stops the
    sweep before it trains."""
    from training import step_inputs, steps

    task = get_task("imdb")
    config = BertConfig(vocab_size=10, hidden_size=4, num_hidden_layers=6,
                        num_attention_heads=2, intermediate_size=8,
                        max_position_embeddings=task.seq_len, type_vocab_size=2)
    earlier = tmp_path / "earlier"
    found = {0: [0.6, 0.5, 0.2, 0.05, 0.03, 0.01], 1: [0.7, 0.5, 0.3, 0.1, 0.05, 0.02]}
    for seed, retention in found.items():
        _search_file(earlier / f"relative_lambda_6e-05_seed_{seed}" / steps.SEARCH,
                     {"task": "imdb", "retention_mode": "relative",
                      "retention_configuration": retention})
    trained, retrained = [], []

    def fine_tune(context, load_initial):
        trained.append(context.output_dir)
        Path(context.path(steps.FINETUNE)).write_bytes(b"fine-tuned")
        return {"accuracy": 0.9}

    def configuration_search(*args, **kwargs):
        raise AssertionError("--searched must not search again")

    def retrain(context, retention):
        retrained.append((context.hp.seed, list(retention.values),
                          Path(context.path(steps.SEARCH)).read_bytes()))
        return {"accuracy": 0.88}

    monkeypatch.setattr(steps, "fine_tune", fine_tune)
    monkeypatch.setattr(steps, "configuration_search", configuration_search)
    monkeypatch.setattr(steps, "retrain", retrain)
    monkeypatch.setattr(steps, "flop_report", lambda *args: "FLOP reduction")
    hp = step_inputs.Hyperparameters(epochs=2, batch_size=16, lr_bert=5e-5, lr_soft_extract=0.02,
                               lambda_=6e-5)
    rows = Features(*(np.ones((2, 4), np.int32),) * 3)
    data = step_inputs.TaskData(rows, np.zeros(2), rows, np.zeros(2))
    lines = []

    def sweep(runs, out):
        out.mkdir(exist_ok=True)
        context = step_inputs.StepContext(config, task, data, hp, str(out), lines.append)
        return tradeoff.sweep(context, None, runs, searched_dir=str(earlier))

    finetuned, results = sweep([("relative", 6e-05, 0), ("relative", 6e-05, 1)], tmp_path / "a")
    assert finetuned == {"accuracy": 0.9}
    assert [(seed, retention) for _, _, seed, retention, _ in results] == [
        (seed, RetentionConfiguration(shares, "relative")) for seed, shares in found.items()]
    assert [(seed, retention) for seed, retention, _ in retrained] == list(found.items())
    assert all(weights == (earlier / f"relative_lambda_6e-05_seed_{seed}" / steps.SEARCH)
               .read_bytes() for seed, _, weights in retrained)
    assert sum("configuration search taken from" in line for line in lines) == 2
    # A seed the earlier sweep did not run, or a relative search where an absolute run
    # needs its own, is reported before step 1 runs.
    _search_file(earlier / "absolute_lambda_6e-05_seed_1" / steps.SEARCH,
                 {"task": "imdb", "retention_mode": "relative",
                  "retention_configuration": found[1]})
    for runs, problem in (([("relative", 6e-05, 0), ("relative", 6e-05, 2)], "no file"),
                          ([("relative", 6e-05, 0), ("absolute", 6e-05, 1)],
                           "records no absolute retention configuration")):
        trained.clear()
        with pytest.raises(UserError, match=problem):
            sweep(runs, tmp_path / "b")
        assert trained == []


def test_a_sweep_run_again_redoes_no_finished_step(tmp_path, monkeypatch):
    """A sweep run again goes on where it stopped: a step its folder records as finished with
    the same arguments is not run again, one that was cut short is; other arguments (a
    fine-tuning of other epochs) start the steps over."""
    from training import step_inputs, steps

    ran = []

    def step(name, output_file, results):
        def run(context, *args):
            ran.append((name, context.hp.lambda_))
            Path(context.path(output_file)).write_bytes(name.encode())
            return results(context.hp)
        return run

    monkeypatch.setattr(steps, "fine_tune", step("fine-tuning", steps.FINETUNE,
                                                 lambda hp: {"accuracy": 0.9}))
    monkeypatch.setattr(steps, "configuration_search", step("search", steps.SEARCH, lambda hp: (
        dataclasses.replace(hp.retention, values=(0.5 - hp.lambda_, 0.1)))))
    monkeypatch.setattr(steps, "retrain", step("re-training", steps.RETRAINED,
                                               lambda hp: {"accuracy": 0.8 - hp.lambda_}))
    rows = Features(*(np.ones((2, 4), np.int32),) * 3)
    data = step_inputs.TaskData(rows, np.zeros(2), rows, np.zeros(2))

    def sweep(lambdas, epochs=2):
        ran.clear()
        hp = step_inputs.Hyperparameters(epochs=epochs, batch_size=16, lr_bert=5e-5,
                                         lr_soft_extract=0.02, lambda_=0.5)
        context = step_inputs.StepContext(None, get_task("mrpc"), data, hp, str(tmp_path),
                                          lambda line: None)
        return tradeoff.sweep(context, "checkpoint", [("relative", value, 0) for value in lambdas])

    first = sweep([0.1, 0.2])
    assert ran == [("fine-tuning", 0.5), ("search", 0.1), ("re-training", 0.1), ("search", 0.2),
                   ("re-training", 0.2)]
    # Run again with one LAMBDA more: only that one runs; the others' results are as recorded.
    finetuned, results = sweep([0.1, 0.2, 0.3])
    assert ran == [("search", 0.3), ("re-training", 0.3)]
    assert (finetuned, results[:2]) == first
    assert results[2][3] == RetentionConfiguration((0.2, 0.1), "relative")
    # A re-training cut short (no retrained.hdf5) runs again, its search does not.
    (tmp_path / "relative_lambda_0.2" / steps.RETRAINED).unlink()
    assert sweep([0.1, 0.2]) == first and ran == [("re-training", 0.2)]
    # Another fine-tuning: every step runs again.
    sweep([0.1], epochs=3)
    assert ran == [("fine-tuning", 0.5), ("search", 0.1), ("re-training", 0.1)]


def test_the_equal_budget_bert_trains_as_many_epochs_as_a_run_has_in_all_once(tmp_path,
                                                                               monkeypatch):
    from training import step_inputs, steps

    trained = []

    def fine_tune(context, load_initial):
        trained.append((context.output_dir, context.hp.epochs, context.hp.seed))
        Path(context.path(steps.FINETUNE)).write_bytes(b"fine-tuned")
        return {"accuracy": 0.9}

    monkeypatch.setattr(steps, "fine_tune", fine_tune)
    rows = Features(*(np.ones((2, 4), np.int32),) * 3)
    data = step_inputs.TaskData(rows, np.zeros(2), rows, np.zeros(2))
    hp = step_inputs.Hyperparameters(epochs=5, search_epochs=2, retrain_epochs=2, batch_size=16,
                                     lr_bert=5e-5, lr_soft_extract=0.02, lambda_=0.5, seed=3)
    context = step_inputs.StepContext(None, get_task("mrpc"), data, hp, str(tmp_path),
                                      lambda line: None)
    assert tradeoff_runs.equal_budget_bert(context, "checkpoint") == {"accuracy": 0.9}
    assert trained == [(str(tmp_path / tradeoff_runs.EQUAL_BUDGET_DIR), 9, 3)]
    # Run again: recorded, not trained again; a sweep of other epochs trains it again.
    assert tradeoff_runs.equal_budget_bert(context, "checkpoint") == {"accuracy": 0.9}
    assert len(trained) == 1
    tradeoff_runs.equal_budget_bert(dataclasses.replace(
        context, hp=dataclasses.replace(hp, retrain_epochs=1)), "checkpoint")
    assert trained[1][1] == 8


def test_mass_weights_are_the_flops_of_a_kept_word_by_hand():
    config = BertConfig(vocab_size=10, hidden_size=4, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=8, max_position_embeddings=5, type_vocab_size=2)
    # A word kept by block 1 runs its feed-forward (1x4 @ 4x8, 1x8 @ 8x4) and enters block 2's
    # attention at n = 5: its 4 projections (1x4 @ 4x4) and, per head, the logits and values
    # grow from 4x4 to 5x5 (2 * 2 * (25 - 16) * 2 multiply-adds over both heads).
    feed_forward = 2 * (4 * 8 + 8 * 4)
    entering = 2 * 4 * 4 * 4 + 2 * 2 * 2 * 2 * (25 - 16)
    cost = [feed_forward + entering, feed_forward]  # the last block has no block after it
    expected = [3 * c / sum(cost) for c in cost]  # summing to 1 + 2, the paper's weights' sum
    assert mass_weights(config, 5) == pytest.approx(expected)
