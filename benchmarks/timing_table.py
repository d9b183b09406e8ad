"""The benchmark's table: its contestants' labels, its columns, and its rows of times and of
speedups, measured and ideal, against both BERT baselines."""

import statistics

import numpy as np

BERT_PADDED_LABEL = "BERT-padded"
BERT_LABEL = "BERT"
KERAS_HUB_LABEL = "keras-hub-BertBackbone"
# ONNX Runtime contestants: "ORT-fp32:<configuration>", "ORT-int8:<configuration>"; plain
# BERT also by Hugging Face Optimum's recipe.
ORT_PRECISIONS = ("fp32", "int8")
OPTIMUM_LABEL = "Optimum-BERT"
COLUMNS = ("configuration", "engine", "padding", "rows", "batch", "seq_len", "threads",
           "ms_min", "ms_median", "examples_per_s", "speedup_vs_padded", "ideal_vs_padded",
           "speedup_vs_real", "ideal_vs_real", "of_ideal", "speedup_vs_ort_bert",
           "max_diff_vs_tf")


def ort_label(precision, label):
    """An ONNX Runtime contestant's label: "ORT-fp32:BERT", "ORT-int8:rel:0.8,...", ..."""
    return f"ORT-{precision}:{label}"


def speedup_rows(config, contestants, times, features, batch, seq_len, threads):
    """The table's rows: times, and measured and ideal speedups against both baselines.

    Args:
        config: the `BertConfig` of every contestant.
        contestants: `Contestant`s, the two BERT baselines among them.
        times: {label: [seconds per pass over all rows]}, from `time_interleaved`.
        features: the `Features` timed.
        batch, seq_len: the batch and N, as timed.
        threads: the intra-op threads it ran on.

    Returns:
        One dict per contestant, with the keys of COLUMNS.
    """
    from modeling.flops import total_flops

    lengths = {"batch": features.lengths, "seq_len": np.full(len(features), seq_len)}
    flops_padded = total_flops(config, lengths["seq_len"])
    flops_real = total_flops(config, lengths["batch"])
    median = {label: statistics.median(seconds) for label, seconds in times.items()}
    rows = []
    for c in contestants:
        flops = total_flops(config, lengths[c.padding], c.retention) if c.flops else None
        row = dict(configuration=c.label, engine=c.engine, padding=c.padding,
                   rows=len(features), batch=batch,
                   seq_len=seq_len, threads=threads, ms_min=1000 * min(times[c.label]),
                   ms_median=1000 * median[c.label],
                   examples_per_s=len(features) / median[c.label],
                   speedup_vs_padded=median[BERT_PADDED_LABEL] / median[c.label],
                   ideal_vs_padded=None if flops is None else flops_padded / flops,
                   speedup_vs_real=median[BERT_LABEL] / median[c.label],
                   ideal_vs_real=None if flops is None else flops_real / flops)
        row["of_ideal"] = (None if flops is None else
                           row["speedup_vs_real"] / row["ideal_vs_real"])
        row["speedup_vs_ort_bert"] = _vs_ort_bert(c.label, median)
        row["max_diff_vs_tf"] = None
        rows.append(row)
    return rows


def _vs_ort_bert(label, median):
    """An ONNX Runtime contestant's speedup over the faster plain BERT of its precision on
    ONNX Runtime (ours or Optimum's), or None."""
    precision = next((p for p in ORT_PRECISIONS if label.startswith(ort_label(p, ""))), None)
    if precision is None:
        return None
    baselines = [median[name] for name in (ort_label(precision, BERT_LABEL),
                                           ort_label(precision, OPTIMUM_LABEL)) if name in median]
    return min(baselines) / median[label]


def format_table(rows):
    """The rows as an aligned text table with the COLUMNS as header."""
    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float) and 0 < abs(value) < 0.01:
            return f"{value:.1e}"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    table = [COLUMNS] + [tuple(cell(row[c]) for c in COLUMNS) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(line, widths)))
                     for line in table)
