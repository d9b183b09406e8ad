"""benchmarks.tradeoff's outputs: tradeoff.csv (one line per run), tradeoff_seeds.csv (median
and range over the seeds of each LAMBDA) and tradeoff.png (the paper's trade-off figure)."""

import csv
import io
import os

MODELS = {"absolute": "PoWER-BERT", "relative": "PoWER-BERT, relative retention"}
BERT_ON_REAL_LENGTHS = "BERT on real lengths"
BERT_EQUAL_BUDGET = "BERT at an equal budget"
CSV_NAME = "tradeoff.csv"
SEEDS_CSV_NAME = "tradeoff_seeds.csv"
PNG_NAME = "tradeoff.png"
CSV_COLUMNS = ("model", "lambda", "seed", "retention_configuration", "ideal_vs_padded",
               "speedup_vs_padded", "ideal_vs_real", "speedup_vs_real", "ms_median", "metric",
               "dev_metric")
# What tradeoff_seeds.csv summarizes over the seeds of one LAMBDA: each as median, min, max.
SPREAD_KEYS = ("ideal_vs_real", "speedup_vs_real")


def write_outputs(output_dir, task, finetuned, results, rows, equal_budget=None):
    """tradeoff.csv (one line per run), tradeoff_seeds.csv (median and range over the seeds
    of each LAMBDA, where a LAMBDA ran at several) and tradeoff.png; returns their paths.
    `equal_budget`: the dev metrics of `benchmarks.tradeoff_runs.equal_budget_bert`, where it ran:
    a line of its own after the two BERT baselines, timed as BERT on real lengths."""
    from atomic_files import write_atomically
    from benchmarks.timing_table import BERT_LABEL, BERT_PADDED_LABEL
    from scoring.metrics import primary_metric

    by_label = {row["configuration"]: row for row in rows}
    speeds = ("ideal_vs_padded", "speedup_vs_padded", "ideal_vs_real", "speedup_vs_real",
              "ms_median")
    # One fine-tuned model: BERT on real lengths gives what BERT padded to seq_len gives; the
    # equal-budget BERT is the same network, trained longer.
    baselines = [dict(model=model, retention_configuration="", metric=task.metric,
                      dev_metric=primary_metric(task, metrics), seed="", **{"lambda": ""},
                      **{key: by_label[label][key] for key in speeds})
                 for model, label, metrics in (
                     ("BERT padded to seq_len", BERT_PADDED_LABEL, finetuned),
                     (BERT_ON_REAL_LENGTHS, BERT_LABEL, finetuned),
                     (BERT_EQUAL_BUDGET, BERT_LABEL, equal_budget))
                 if metrics is not None]
    runs = []
    for mode, value, seed, retention, metrics in results:
        row = by_label[retention.label]  # LAMBDAs may find the same one
        runs.append(dict(model=MODELS[mode], retention_configuration=retention.label,
                         metric=task.metric, dev_metric=primary_metric(task, metrics),
                         seed=seed, **{"lambda": value}, **{key: row[key] for key in speeds}))
    paths = [os.path.join(output_dir, CSV_NAME)]
    write_atomically(paths[0], csv_text(CSV_COLUMNS, baselines + runs))
    spreads = seed_spreads(results, runs)
    if any(spread["seeds"] > 1 for spread in spreads):
        paths.append(os.path.join(output_dir, SEEDS_CSV_NAME))
        write_atomically(paths[-1], csv_text(list(spreads[0]), spreads))
    paths.append(os.path.join(output_dir, PNG_NAME))
    _plot(paths[-1], task, baselines, spreads)
    return paths


def seed_spreads(results, lines):
    """Median, min and max over the seeds of each (mode, LAMBDA): of every dev metric and
    of the speedups over BERT on real lengths.

    Args:
        results: from `benchmarks.tradeoff.sweep`.
        lines: tradeoff.csv's line of each result, in the same order.

    Returns:
        One dict per (mode, LAMBDA), in the order of `results`.
    """
    import statistics

    groups = {}
    for (mode, value, _, _, metrics), line in zip(results, lines):
        groups.setdefault((mode, value), []).append((metrics, line))
    spreads = []
    for (mode, value), runs in groups.items():
        spread = {"model": MODELS[mode], "lambda": value, "seeds": len(runs)}
        values = {**{f"dev_{key}": [metrics[key] for metrics, _ in runs] for key in runs[0][0]},
                  **{key: [line[key] for _, line in runs] for key in SPREAD_KEYS}}
        for key, numbers in values.items():
            spread.update({f"{key}_median": statistics.median(numbers),
                           f"{key}_min": min(numbers), f"{key}_max": max(numbers)})
        spreads.append(spread)
    return spreads


def csv_text(columns, lines):
    """A CSV file's text: a header of `columns`, then a row per dict of `lines`."""
    table = io.StringIO()
    writer = csv.DictWriter(table, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return table.getvalue()


def _plot(path, task, baselines, spreads):
    """The trade-off picture: each LAMBDA at its medians, its ranges over seeds as bars."""
    from training.plots import plot_tradeoff

    metric = f"dev_{task.metric}"
    curves = {}
    for spread in spreads:
        ranges = ((spread["speedup_vs_real_min"], spread["speedup_vs_real_max"]),
                  (spread[f"{metric}_min"], spread[f"{metric}_max"]))
        curves.setdefault(spread["model"], []).append(
            (spread["speedup_vs_real_median"], spread[f"{metric}_median"],
             f"λ={spread['lambda']:g}", *(ranges if spread["seeds"] > 1 else ())))
    plot_tradeoff(path, curves, [(line["speedup_vs_real"], line["dev_metric"], line["model"])
                                 for line in baselines], task.metric)
