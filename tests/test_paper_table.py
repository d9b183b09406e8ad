"""benchmarks.paper_table: the paper's table over tasks and seeds, its cells resumed, never redone;
the equal-budget BERT beside it; the GLUE folders it makes (a capped train.tsv, dev as test)."""

import csv
import json
import re

import pytest

import benchmarks.paper_table as paper_table
import benchmarks.paper_table_cells as cells
from benchmarks.paper_table_report import COLUMNS, CSV_NAME, MD_NAME, write_table
from data.glue import read_examples
from data.task_copies import capped_training_folder, dev_as_test_folder
from data.tasks import get_task
from tests.data_paths import real_data
from tests.helpers import make_tiny_run

# Every task of the table, by its folder in ../shared.
FOLDERS = {"cola": ("glue", "CoLA"), "rte": ("glue", "RTE"), "mrpc": ("glue", "MRPC"),
           "sts-b": ("glue", "STS-B"), "sst-2": ("glue", "SST-2"), "imdb": ("imdb",)}
ROUNDS = 1


def _tiny_glue(root, rows=32):
    """A tiny 2-block BERT and a --glue-dir of MRPC's and STS-B's first `rows` rows."""
    run = make_tiny_run(root, rows)
    sts = root / "STS-B"
    sts.mkdir()
    for split in ("train", "dev"):
        lines = real_data("glue", "STS-B", f"{split}.tsv").read_text(
            encoding="utf-8").splitlines()
        (sts / f"{split}.tsv").write_text("\n".join(lines[:rows + 1]) + "\n", encoding="utf-8")
    return run


def _argv(run, root, *extra):
    return ["--tasks", "mrpc,sts-b", "--seeds", "0", "--glue-dir", str(root),
            "--work-dir", str(root / "work"), "--out", str(root / "out"),
            "--rounds", str(ROUNDS), "--max-train-rows", "24",
            "--BERT_CONFIG_PATH", str(run.config), "--CHECKPOINT_PATH", str(run.checkpoint),
            "--VOCAB_PATH", str(run.vocab), "--TASK_CONFIG_PATH", str(run.task_config),
            "--EPOCH", "1", "--BATCH_SIZE", "16", "--LR_BERT", "0.001",
            "--LR_SOFT_EXTRACT", "0.05", "--LAMBDA", "0.05", *extra]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """The table made once on the tiny slice: 2 tasks, 1 seed, 1 epoch per step."""
    root = tmp_path_factory.mktemp("table")
    run = _tiny_glue(root)
    assert paper_table.main(_argv(run, root)) == 0
    return run, root


def _csv_rows(root):
    with open(root / "out" / CSV_NAME, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def _files(root):
    """{path: modification time} of every file of the run folders and timings."""
    return {path: path.stat().st_mtime_ns for path in (root / "work").rglob("*")
            if path.is_file() and path.suffix != ".out"}


@pytest.mark.slow
def test_table_writes_both_files_with_each_tasks_medians_epochs_and_speedups(table):
    run, root = table
    columns, rows = _csv_rows(root)
    assert tuple(columns) == COLUMNS
    assert [row["task"] for row in rows] == ["mrpc", "sts-b"]
    for row, metric in zip(rows, ("f1", "spearman")):
        power = root / "work" / row["task"] / "power_bert_seed_0"
        log = (power / "log_file.txt").read_text(encoding="utf-8")
        recorded = json.loads((power / "progress.json").read_text(encoding="utf-8"))["steps"]
        assert row["metric"] == metric
        assert row["power_bert_median"] == f"{100 * recorded['re-training'][metric]:.2f}"
        assert row["power_bert_min"] == row["power_bert_median"] == row["power_bert_max"]
        assert -100 <= float(row["bert_median"]) <= 100
        assert row["seeds"] == row["median_seed"] == "0"
        assert row["train_rows"] == "24" and "Training on 24 examples" in log
        # Equal budgets: BERT trained as many epochs as the log says PoWER-BERT had.
        total = re.search(r"epochs: .*= (\d+)$", log, re.M)[1]
        assert row["power_bert_epochs"] == row["bert_epochs"] == total == "3"
        real, padded = re.search(r"ideal speedup .*: ([0-9.]+)x over BERT on real lengths.* "
                                 r"([0-9.]+)x over BERT padded", log).groups()
        assert (row["ideal_vs_real"], row["ideal_vs_padded"]) == (real, padded)
        assert 1 <= float(real) <= float(padded)
        assert float(row["e2e_vs_real"]) == pytest.approx(
            float(row["bert_predict_s"]) / float(row["power_bert_predict_s"]), abs=0.01)
        assert row["rounds"] == str(ROUNDS)
        for folder in (row["bert_runs"], row["power_bert_runs"]):
            assert (root / "work" / row["task"]).samefile(folder.rpartition("/")[0])
    md = (root / "out" / MD_NAME).read_text(encoding="utf-8")
    assert "| | MRPC | STS-B |" in md
    assert f"| PoWER-BERT: time (s), speedup | {rows[0]['power_bert_predict_s']} " \
           f"({rows[0]['e2e_vs_real']}x) |" in md
    assert rows[1]["power_bert_runs"] in md
    bert_log = (root / "work" / "mrpc" / "bert_seed_0" / "log_file.txt").read_text("utf-8")
    assert "step 1 alone, 3 epochs" in bert_log and "Fine-tuning epoch 3:" in bert_log


def _counting(monkeypatch):
    """Counts the fresh processes the table starts (each still runs)."""
    started = []

    def run_process(argv, console, env=None):
        started.append(argv)
        return real(argv, console, env)

    real = cells.run_process
    monkeypatch.setattr(cells, "run_process", run_process)
    monkeypatch.setattr(paper_table, "run_process", run_process)
    return started


@pytest.mark.slow
def test_resumed_table_redoes_no_finished_cell(table, monkeypatch, capsys):
    run, root = table
    before, rows = _files(root), _csv_rows(root)[1]
    started = _counting(monkeypatch)
    assert paper_table.main(_argv(run, root)) == 0
    assert started == []
    assert _files(root) == before
    assert capsys.readouterr().out.count("done already") == 4 + 2  # 4 cells, 2 timings
    assert _csv_rows(root)[1] == rows

    # Step 3 of one cell interrupted: only that cell resumes, and its timing runs again.
    power = root / "work" / "sts-b" / "power_bert_seed_0"
    record = json.loads((power / "progress.json").read_text(encoding="utf-8"))
    del record["steps"]["re-training"]
    (power / "progress.json").write_text(json.dumps(record), encoding="utf-8")
    (power / "retrained.hdf5").unlink()
    assert paper_table.main(_argv(run, root)) == 0
    assert len(started) == 1 + 2 * ROUNDS
    assert "--RESUME" in started[0] and str(power) in started[0]
    assert all("--PREDICT_ONLY" in argv for argv in started[1:])
    after = _files(root)
    assert {path for path in before if after.get(path) != before[path]} == {
        power / name for name in ("progress.json", "retrained.hdf5", "log_file.txt",
                                  "retention_configuration.png", "surviving_words.png",
                                  "surviving_text.png")} | {
        path for path in before if "sts-b/timing/" in str(path)}


@pytest.mark.slow
def test_a_finished_cell_trained_otherwise_is_refused_and_kept(table, monkeypatch, capsys):
    run, root = table
    before = _files(root)
    started = _counting(monkeypatch)
    # Other flags than the finished cells had: refused at the first cell, nothing run.
    assert paper_table.main(_argv(run, root, "--LAMBDA", "0.07")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "mrpc seed 0 PoWER-BERT:" in err and "(LAMBDA 0.05 then, 0.07 now)" in err
    # A BERT cell of an earlier table, fewer epochs than its PoWER-BERT had in all.
    progress = root / "work" / "mrpc" / "bert_seed_0" / "progress.json"
    text = progress.read_text(encoding="utf-8")
    record = json.loads(text)
    record["arguments"]["EPOCH"] = 2
    progress.write_text(json.dumps(record), encoding="utf-8")
    try:
        assert paper_table.main(_argv(run, root)) == 2
    finally:
        progress.write_text(text, encoding="utf-8")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "mrpc seed 0 BERT:" in err and "(EPOCH 2 then, 3 now)" in err
    assert started == []
    assert {path for path in before if _files(root).get(path) != before[path]} == {progress}


class _StandInCell:
    """A `Cell` for `Progress`: finished or not; trained by whatever run_process does."""

    def __init__(self, seed, finished):
        self.task, self.seed, self.kind = get_task("mrpc"), seed, "BERT"
        self.folder, self.finished = f"cell_{seed}", finished

    def recorded(self):
        return self

    def complete(self):
        return self.finished

    def changed_since(self, *_):
        return []

    def command(self, *_):
        return ["train", self.folder]


def test_time_left_counts_only_the_cells_still_to_train(monkeypatch, capsys):
    clock = [0.0]
    monkeypatch.setattr(paper_table, "time", type("Clock", (), {"monotonic": lambda: clock[0]}))
    monkeypatch.setattr(paper_table, "run_process",
                        lambda argv, out: clock.__setitem__(0, clock[0] + 600))
    cells = [_StandInCell(seed, finished) for seed, finished in
             enumerate([False, True, True, False, True])]
    progress = paper_table.Progress(cells)
    for cell in cells:
        progress.cell(cell, "data", [])
    lines = capsys.readouterr().out.splitlines()
    # One cell trained in 10 min, one of the four not done still to train: 10 min left.
    assert lines[1].startswith("[1/5 cells, 0:10:00, about 0:10:00 left")
    assert lines[3].startswith("[3/5 cells, 0:10:00, about 0:10:00 left")
    assert lines[3].endswith("done already (cell_2)")
    assert lines[5].startswith("[4/5 cells, 0:20:00, about 0:00:00 left")


@pytest.mark.parametrize("extra, message", [
    (["--tasks", "mrpc,qqp"], "'qqp' is not a task of the table"),
    (["--seeds", "0,0"], "names a value twice"),
    (["--seeds", "a"], "is not a comma-separated list of integers"),
    (["--rounds", "0"], "--rounds must be a positive integer"),
    (["--EVAL_ONLY"], "--EVAL_ONLY is not a flag of the table"),
    (["--glue-dir", "/nonexistent"], "/nonexistent/CoLA, task cola's folder, is not a folder"),
])
def test_bad_flags_are_one_line(extra, message, tmp_path, capsys):
    assert paper_table.main(["--work-dir", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_a_table_made_task_by_task_keeps_the_other_tasks_rows(tmp_path):
    def row(task, value):
        return {column: value for column in COLUMNS} | {"task": task, "metric": "accuracy"}

    write_table(tmp_path, [row("sst-2", "1.00"), row("cola", "2.00")])
    write_table(tmp_path, [row("sst-2", "3.00")])
    with open(tmp_path / CSV_NAME, encoding="utf-8", newline="") as f:
        assert [(r["task"], r["bert_median"]) for r in csv.DictReader(f)] == [
            ("cola", "2.00"), ("sst-2", "3.00")]
    assert "| | CoLA | SST-2 |" in (tmp_path / MD_NAME).read_text(encoding="utf-8")


@pytest.mark.parametrize("task", list(FOLDERS))
def test_dev_rows_as_a_test_file_read_back_as_the_same_texts(task, tmp_path):
    source = real_data(*FOLDERS[task])
    folder = dev_as_test_folder(get_task(task), source, tmp_path / "timing")
    dev, test = (read_examples(get_task(task), where, split)
                 for where, split in ((source, "dev"), (folder, "test")))
    assert [(e.text_a, e.text_b) for e in test] == [(e.text_a, e.text_b) for e in dev]
    assert [e.guid for e in test] == [str(i) for i in range(len(dev))]


@pytest.mark.parametrize("task", ["cola", "mrpc"])  # CoLA's train has no header, MRPC's has
def test_capped_training_rows_are_drawn_by_the_seed_from_the_real_rows(task, tmp_path):
    source = real_data(*FOLDERS[task])
    all_rows = [(e.text_a, e.label) for e in read_examples(get_task(task), source, "train")]
    drawn = [[(e.text_a, e.label) for e in read_examples(get_task(task), capped_training_folder(
        get_task(task), source, 50, seed, tmp_path / f"seed_{seed}"), "train")]
        for seed in (1, 2)]
    assert len(drawn[0]) == 50 and drawn[0] != drawn[1]
    rows = iter(all_rows)
    assert all(row in rows for row in drawn[0])  # real rows, in the file's order
    again = capped_training_folder(get_task(task), source, 50, 1, tmp_path / "again")
    assert [(e.text_a, e.label) for e in read_examples(get_task(task), again, "train")] == \
        drawn[0]
    assert len(read_examples(get_task(task), again, "dev")) == len(
        read_examples(get_task(task), source, "dev"))


@pytest.mark.parametrize("argv, message", [
    (["--TASK", "mrpc", "--DATA_DIR", "x", "--OUTPUT_DIR", "y"], "--EPOCH"),
    (["--TASK", "mrpc", "--DATA_DIR", "x", "--OUTPUT_DIR", "y", "--EPOCH", "0"],
     "--EPOCH must be a positive integer"),
    (["--TASK", "mrpc", "--DATA_DIR", "/nonexistent", "--OUTPUT_DIR", "y", "--EPOCH", "3"],
     "--DATA_DIR /nonexistent is not a folder"),
])
def test_equal_budget_bert_bad_flags_are_one_line(argv, message, tmp_path, capsys):
    from benchmarks.equal_budget_bert import main

    assert main([*argv[:5], str(tmp_path / argv[5]), *argv[6:]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert not (tmp_path / argv[5]).exists()
