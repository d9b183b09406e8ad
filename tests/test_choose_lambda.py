"""benchmarks.choose_lambda: the held-out split of a task's training rows, the rule that picks
LAMBDA on it, and the command that sweeps, chooses and writes the choice."""

import csv

import pytest

from benchmarks import choose_lambda, models
from benchmarks.choose_lambda import COLUMNS
from data.examples import held_out
from data.glue import has_header, read_examples
from data.task_copies import CAP_SEED, capped_training_folder, held_out_folder
from data.tasks import get_task
from modeling.config import load_config
from scoring.lambda_rule import choose, grid_goes_on, lower_bound
from tests.data_paths import real_data
from tests.helpers import make_tiny_run
from training.steps import STEP_OUTPUTS


@pytest.mark.parametrize("task, folder", [("cola", "CoLA"), ("mrpc", "MRPC"), ("rte", "RTE"),
                                          ("sts-b", "STS-B"), ("sst-2", "SST-2")])
def test_held_out_rows_are_a_fixed_share_of_train_in_the_tasks_own_layout(task, folder,
                                                                           tmp_path):
    source, task = real_data("glue", folder), get_task(task)
    lines = (source / "train.tsv").read_text(encoding="utf-8-sig").rstrip("\n").split("\n")
    header = int(has_header(task, "train"))
    made = held_out_folder(task, source, 0.1, tmp_path / "a")
    train, dev = ((made / f"{split}.tsv").read_text(encoding="utf-8").rstrip("\n").split("\n")
                  for split in ("train", "dev"))
    # The header line where the task's files have one (CoLA's have none), then rows.
    assert train[:header] == dev[:header] == lines[:header]
    rows, train, dev = lines[header:], train[header:], dev[header:]
    assert len(dev) == round(0.1 * len(rows)) and len(train) == len(rows) - len(dev)
    # Every row once, in one of the two, each in the file's order, as the mask draws them.
    is_held = held_out(len(rows), 0.1)
    assert dev == [row for row, held in zip(rows, is_held) if held]
    assert train == [row for row, held in zip(rows, is_held) if not held]
    assert sorted(train + dev) == sorted(rows)
    # The task's reader takes both files; the same share again gives the same rows.
    assert len(read_examples(task, made, "dev")) == len(dev)
    assert len(read_examples(task, made, "train")) == len(train)
    again = held_out_folder(task, source, 0.1, tmp_path / "b")
    assert (again / "dev.tsv").read_bytes() == (made / "dev.tsv").read_bytes()
    other = held_out_folder(task, source, 0.2, tmp_path / "c")
    assert len(read_examples(task, other, "dev")) == round(0.2 * len(rows))


def test_a_capped_task_holds_out_of_the_rows_its_table_row_trains_on(tmp_path):
    source, task = real_data("glue", "SST-2"), get_task("sst-2")
    made = choose_lambda.held_out_data(task, source, 0.1, 1000, tmp_path / "choice")
    # The rows benchmarks.paper_table --max-train-rows 1000 trains on, drawn the same way.
    table = capped_training_folder(task, source, 1000, CAP_SEED, tmp_path / "table")
    rows = sorted((e.text_a, e.label) for e in read_examples(task, table, "train"))
    train, dev = ([(e.text_a, e.label) for e in read_examples(task, made, split)]
                  for split in ("train", "dev"))
    assert len(train) == 900 and len(dev) == 100 and sorted(train + dev) == rows
    assert len(read_examples(task, source, "train")) > 50000  # the cap did cut
    # No cap: held out of every training row.
    whole = choose_lambda.held_out_data(get_task("mrpc"), real_data("glue", "MRPC"), 0.1, None,
                                        tmp_path / "whole")
    assert len(read_examples(get_task("mrpc"), whole, "dev")) == 367


def test_held_out_rows_are_drawn_by_the_fixed_seed_not_the_first_or_last():
    is_held = held_out(1000, 0.1)
    assert is_held.sum() == 100 and (held_out(1000, 0.1) == is_held).all()
    assert 0 < is_held[:500].sum() < 100  # spread over the file
    assert held_out(2, 0.9).sum() == 1 and held_out(3, 0.01).sum() == 1  # one each side


def test_the_rule_picks_the_fastest_lambda_within_one_percent_of_bert():
    medians = {0.0005: (0.850, 1.8), 0.001: (0.842, 2.4), 0.002: (0.845, 2.1),
               0.004: (0.80, 3.5)}
    # 0.842 >= 0.85 - 0.0085: in, and the fastest of those in; 0.004 is faster but 5 below.
    assert choose(0.85, medians) == (0.001, True)
    # Two as fast: the one with the higher metric; then the smaller LAMBDA.
    assert choose(0.85, {**medians, 0.003: (0.846, 2.4)}) == (0.003, True)
    assert choose(0.85, {0.002: (0.846, 2.4), 0.001: (0.846, 2.4)}) == (0.001, True)


def test_the_rule_takes_the_smallest_lambda_flagged_where_none_is_within_one_percent():
    assert choose(0.85, {0.004: (0.70, 3.5), 0.001: (0.80, 1.9), 0.002: (0.83, 2.4)}) == (
        0.001, False)


def test_the_grid_goes_on_until_it_holds_lambdas_on_both_sides_of_the_bound():
    medians = {0.001: (0.846, 1.9), 0.002: (0.843, 2.4)}
    assert grid_goes_on(0.85, medians) == "above"  # the largest is within 1%
    assert grid_goes_on(0.85, {**medians, 0.004: (0.80, 3.5)}) is None
    assert grid_goes_on(0.85, {0.002: (0.83, 2.4), 0.004: (0.80, 3.5)}) == "below"
    # The pick need not be the largest: a largest within 1% still leaves the grid open.
    assert grid_goes_on(0.85, {0.001: (0.846, 2.5), 0.002: (0.843, 2.4)}) == "above"


def test_the_rows_mark_the_pick_over_seeds_and_say_where_the_grid_goes_on():
    task, bert = get_task("mrpc"), (0.85, 0.84)
    runs = {0.001: [(0.846, 1.9), (0.80, 2.1), (0.849, 1.8)], 0.002: [(0.843, 2.4)] * 3}
    rows = choose_lambda.choice_rows(task, bert, runs, (90, 10), "sweep")
    assert [(row["lambda"], row["chosen"], row["heldout_median"]) for row in rows] == [
        ("0.001", "no", "84.60"), ("0.002", "yes", "84.30")]
    assert rows[1]["why"].endswith("run larger LAMBDAs too")
    rows = choose_lambda.choice_rows(task, bert, {0.002: [(0.83, 2.4)]}, (90, 10), "sweep")
    assert rows[0]["why"].endswith("flagged; run smaller LAMBDAs too")


def test_one_percent_is_of_the_metrics_value_for_mcc_too():
    # MCC 0.40: 1% of it is 0.004, not a point (0.01).
    assert lower_bound(0.40) == pytest.approx(0.396)
    assert choose(0.40, {0.001: (0.397, 1.5), 0.002: (0.395, 3.0)}) == (0.001, True)
    # A negative MCC (or Spearman): the bound is still below it.
    assert lower_bound(-0.2) == pytest.approx(-0.202)


@pytest.mark.slow
def test_the_command_sweeps_on_held_out_rows_chooses_and_keeps_other_tasks_rows(
        tmp_path, monkeypatch, capsys):
    """A tiny 2-block BERT on 32 of MRPC's training rows, 8 held out: two LAMBDAs, one seed."""
    from training import steps

    run = make_tiny_run(tmp_path)
    monkeypatch.setattr(models, "load_model_spec", lambda model: (
        load_config(run.config), str(run.checkpoint), str(run.vocab)))
    out = tmp_path / "lambda_choice.csv"
    other = {column: "" for column in COLUMNS} | {"task": "rte", "lambda": "0.001"}
    choose_lambda.write_choice(str(out), [other])
    argv = ["--task", "mrpc", "--data-dir", str(run.data_dir), "--lambdas", "0.01,0.2",
            "--holdout", "0.25", "--work-dir", str(tmp_path / "work"), "--out", str(out),
            "--task-config", str(run.task_config), "--epochs", "1", "--batch-size", "8",
            "--lr-bert", "0.001", "--lr-soft-extract", "0.05", "--bench-batch", "8"]
    assert choose_lambda.main(argv) == 0
    with open(out, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0] == other
    rows = rows[1:]
    assert [(row["task"], row["lambda"], row["train_rows"], row["heldout_rows"])
            for row in rows] == [("mrpc", "0.01", "24", "8"), ("mrpc", "0.2", "24", "8")]
    # The rule on the sweep's own numbers (one seed: the medians) chose what the rows say.
    sweep = tmp_path / "work" / "mrpc" / "heldout_0.25" / "sweep"
    assert {row["sweep"] for row in rows} == {str(sweep)}
    with open(sweep / "tradeoff.csv", encoding="utf-8", newline="") as f:
        runs = list(csv.DictReader(f))
    # The rule's BERT is the equal-budget one: step 1 alone for 1 + 1 + 1 epochs.
    assert [line["model"] for line in runs[:3]] == ["BERT padded to seq_len",
                                                   "BERT on real lengths",
                                                   "BERT at an equal budget"]
    bert, step1 = float(runs[2]["dev_metric"]), float(runs[1]["dev_metric"])
    medians = {float(line["lambda"]): (float(line["dev_metric"]), float(line["ideal_vs_real"]))
               for line in runs[3:]}
    chosen, within = choose(bert, medians)
    assert [row["chosen"] for row in rows] == ["yes" if float(row["lambda"]) == chosen else "no"
                                               for row in rows]
    assert [row["within_1pct"] for row in rows] == [
        "yes" if medians[float(row["lambda"])][0] >= lower_bound(bert) else "no" for row in rows]
    assert (rows[0]["bert_heldout"], rows[0]["step1_heldout"]) == (f"{100 * bert:.2f}",
                                                                   f"{100 * step1:.2f}")
    printed = capsys.readouterr().out
    assert ("none is within 1%" in printed) == (not within)
    assert ("run larger LAMBDAs too" in printed) == (grid_goes_on(bert, medians) == "above")
    log = (sweep / "log_file.txt").read_text(encoding="utf-8")
    assert "relative retention, LAMBDA 0.2" in log and "24 train / 8 dev rows" in log
    assert "BERT at an equal budget: step 1 alone, 3 epochs" in log
    assert "Fine-tuning epoch 3" in log.split("BERT at an equal budget")[1]
    assert (sweep / "bert_equal_budget" / STEP_OUTPUTS[0][1]).is_file()
    # Run again: no step runs again, and the same rows are written.
    for step in ("fine_tune", "configuration_search", "retrain"):
        monkeypatch.setattr(steps, step, lambda *args: pytest.fail("a finished step ran again"))
    before = out.read_text(encoding="utf-8")
    assert choose_lambda.main(argv) == 0
    assert out.read_text(encoding="utf-8") == before
    assert all((sweep / name / STEP_OUTPUTS[2][1]).is_file()
               for name in ("relative_lambda_0.01", "relative_lambda_0.2"))


@pytest.mark.parametrize("extra, message", [
    (["--holdout", "1"], "--holdout 1 is not a share between 0 and 1"),
    (["--max-train-rows", "1"], "--max-train-rows 1 leaves nothing to hold out"),
    (["--seeds", "1,1"], "--seeds"),
    (["--lambdas", "0.001,x"], "--lambdas '0.001,x' is not a comma-separated list of numbers"),
    (["--data-dir", "/nonexistent"], "--data-dir /nonexistent is not a folder"),
    (["--task", "nonesuch"], "--task 'nonesuch' is not a known task"),
])
def test_bad_flags_are_one_line(extra, message, tmp_path, capsys):
    argv = ["--task", "mrpc", "--data-dir", str(real_data("glue", "MRPC")), "--lambdas", "0.001",
            "--work-dir", str(tmp_path / "work"), "--out", str(tmp_path / "out.csv"), *extra]
    assert choose_lambda.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / "work").exists()
