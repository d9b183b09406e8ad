"""`benchmarks.paper_table`'s outputs: paper_table.csv, one row per task, and paper_table.md,
laid out as the paper's Table 2 (a column per task; BERT's and PoWER-BERT's metric and
inference time in rows), with the run folders behind every cell."""

import csv
import os
import statistics

from atomic_files import write_atomically
from benchmarks.paper_table_cells import BERT, POWER_BERT
from benchmarks.tradeoff_report import csv_text

TABLE_TASKS = ("cola", "rte", "mrpc", "sts-b", "sst-2", "imdb")
CSV_NAME, MD_NAME = "paper_table.csv", "paper_table.md"
COLUMNS = ("task", "metric", "bert_median", "bert_min", "bert_max", "power_bert_median",
           "power_bert_min", "power_bert_max", "seeds", "median_seed", "train_rows",
           "bert_epochs", "power_bert_epochs", "ideal_vs_real", "ideal_vs_padded",
           "e2e_vs_real", "bert_predict_s", "power_bert_predict_s", "rounds", "bert_runs",
           "power_bert_runs", "timing_runs")
_METRIC_NAMES = {"mcc": "MCC", "f1": "F1", "spearman": "Spearman", "accuracy": "accuracy"}


def median_seed(cells):
    """The seed whose PoWER-BERT has the median dev metric (of two, the lower one), of
    `cells`, {seed: (BERT cell, PoWER-BERT cell)}."""
    ranked = sorted(cells, key=lambda seed: (cells[seed][1].metric(), seed))
    return ranked[(len(ranked) - 1) // 2]


def table_row(task, cells, median, train_rows, seconds, timing_folder):
    """The task's row of paper_table.csv, every value as text.

    Args:
        task, train_rows: the `Task` and the training rows its cells ran on.
        cells, median: {seed: (BERT cell, PoWER-BERT cell)}, finished; the `median_seed`.
        seconds, timing_folder: `paper_table_cells.time_end_to_end`'s times of the median
            seed's checkpoints, and its folder.
    """
    berts, powers = zip(*cells.values())
    ideal = [power.recorded().ideal_speedups() for power in powers]
    times = {label: statistics.median(values) for label, values in seconds.items()}
    row = {"task": task.name, "metric": task.metric, "seeds": " ".join(map(str, cells)),
           "median_seed": str(median), "train_rows": str(train_rows),
           "bert_epochs": _one(bert.recorded().epochs() for bert in berts),
           "power_bert_epochs": _one(power.recorded().epochs() for power in powers),
           "ideal_vs_real": f"{statistics.median(real for real, _ in ideal):.2f}",
           "ideal_vs_padded": f"{statistics.median(padded for _, padded in ideal):.2f}",
           "e2e_vs_real": f"{times[BERT] / times[POWER_BERT]:.2f}",
           "bert_predict_s": f"{times[BERT]:.2f}", "power_bert_predict_s":
           f"{times[POWER_BERT]:.2f}", "rounds": str(len(seconds[BERT])),
           "bert_runs": " ".join(bert.folder for bert in berts),
           "power_bert_runs": " ".join(power.folder for power in powers),
           "timing_runs": timing_folder}
    for name, column in (("bert", berts), ("power_bert", powers)):
        values = [cell.metric() for cell in column]
        row.update({f"{name}_median": f"{statistics.median(values):.2f}",
                    f"{name}_min": f"{min(values):.2f}", f"{name}_max": f"{max(values):.2f}"})
    return row


def _one(values):
    """"15" where every seed had the same, else the values, "15/12"."""
    return "/".join(dict.fromkeys(map(str, values)))


def write_table(out, rows):
    """Writes paper_table.csv and paper_table.md into `out`: `rows`, and the rows of other
    tasks that the paper_table.csv there holds (a table made task by task); returns their
    paths."""
    csv_path, md_path = os.path.join(out, CSV_NAME), os.path.join(out, MD_NAME)
    tasks = {row["task"] for row in rows}
    every = sorted([row for row in earlier_rows(csv_path, COLUMNS)
                    if row["task"] in TABLE_TASKS and row["task"] not in tasks] + rows,
                   key=lambda row: TABLE_TASKS.index(row["task"]))
    os.makedirs(out, exist_ok=True)
    write_atomically(csv_path, csv_text(COLUMNS, every))
    write_atomically(md_path, markdown(every))
    return csv_path, md_path


def earlier_rows(path, columns):
    """The rows of the CSV at `path`, where there is one of these `columns` (none of another
    layout): a table made task by task keeps the rows of the tasks not made again."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    return rows if tuple(reader.fieldnames or ()) == tuple(columns) else []


def task_title(name):
    """The task's name as GLUE writes it: CoLA, STS-B, ..."""
    from data.tasks import get_task

    glue_file = get_task(name).glue_file
    return glue_file.removesuffix(".tsv") if glue_file else name.upper()


def markdown(rows):
    """paper_table.md: the paper's Table 2 layout, a column per task, then the run folders."""
    def line(title, cell):
        return f"| {title} | " + " | ".join(cell(row) for row in rows) + " |"

    def spread(name):
        return lambda row: (f"{row[f'{name}_median']} "
                            f"({row[f'{name}_min']}-{row[f'{name}_max']})")

    return "\n".join([
        "# PoWER-BERT against BERT on each task's dev rows (the paper's Table 2)", "",
        "Dev metric in percent, median over seeds (min-max). Time: `main.py --PREDICT_ONLY` "
        "on the dev rows (as a test file), batch 64, 2 threads, fresh processes alternated, "
        "median over the rounds, the log's \"Predicted\" line (first batch included); BERT "
        "runs on real lengths (length-aware batches), PoWER-BERT is the median seed's. "
        "Ideal: FLOP ratio on the dev rows, median over seeds. Made by "
        "`python -m benchmarks.paper_table` (benchmarks/paper_table.py); the CSV: "
        f"[{CSV_NAME}]({CSV_NAME}).", "",
        "| | " + " | ".join(task_title(row["task"]) for row in rows) + " |",
        "| --- |" + " --- |" * len(rows),
        line("metric", lambda row: _METRIC_NAMES[row["metric"]]),
        line("BERT: dev metric", spread("bert")),
        line("BERT: time (s)", lambda row: row["bert_predict_s"]),
        line("PoWER-BERT: dev metric", spread("power_bert")),
        line("PoWER-BERT: time (s), speedup", lambda row: (
            f"{row['power_bert_predict_s']} ({row['e2e_vs_real']}x)")),
        line("ideal speedup over BERT on real lengths / padded to seq_len",
             lambda row: f"{row['ideal_vs_real']}x / {row['ideal_vs_padded']}x"),
        line("epochs: BERT / PoWER-BERT (steps 1-3)",
             lambda row: f"{row['bert_epochs']} / {row['power_bert_epochs']}"),
        line("seeds (median); training rows",
             lambda row: f"{row['seeds']} ({row['median_seed']}); {row['train_rows']}"),
        "", "Run folders (each with its log_file.txt and progress.json):", "",
        *(f"- {task_title(row['task'])}: BERT {row['bert_runs']}; PoWER-BERT "
          f"{row['power_bert_runs']}; timing {row['timing_runs']}, rounds: {row['rounds']}"
          for row in rows), ""])
