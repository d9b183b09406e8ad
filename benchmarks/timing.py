"""Side-by-side timing: the contestants, timed in interleaved rounds, and their table rows
(`benchmarks.timing_table`: speedups against both BERT baselines).

Every speedup is reported against both baselines: BERT with every input padded to seq_len
(the paper's) and BERT on real lengths, rows sorted by length and each batch padded to its
longest row (the strong one, what Hugging Face's `group_by_length` gives). Whatever is timed
runs in rounds, each round once per contestant in a rotated order, so that a slow moment of
the machine hits all alike. The ideal speedups are exact FLOP ratios (`modeling.flops`, the
project's one FLOP count) on the lengths each model really runs on.
"""

import os
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from benchmarks.models import build_models, compiled_forward, keras_hub_forward
from benchmarks.timing_table import (BERT_LABEL, BERT_PADDED_LABEL, KERAS_HUB_LABEL,
                                     OPTIMUM_LABEL, ORT_PRECISIONS, ort_label, speedup_rows)
from errors import UserError
from extract_layers.retention import RetentionConfiguration


def set_threads(threads):
    """Sets TensorFlow's intra- and inter-op thread pools; must run before TensorFlow starts."""
    import tensorflow as tf

    threading = tf.config.threading
    if threading.get_intra_op_parallelism_threads() == threads == \
            threading.get_inter_op_parallelism_threads():
        return
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        raise UserError("--threads must be set before TensorFlow starts: run the benchmark in "
                        "a fresh process") from None


def effective_threads():
    """The intra-op threads TensorFlow uses (its default, 0, means one per core)."""
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()


def interleaved(labels, rounds):
    """Yields the labels once per round, the order rotated by one place each round.

    Args:
        labels: a list of the contestants.
        rounds: how many rounds.
    """
    for r in range(rounds):
        shift = r % len(labels)
        yield from labels[shift:] + labels[:shift]


def time_interleaved(passes, rounds, warmup=2):
    """Times each pass once per round, rotating the order round by round, after warm-up.

    Args:
        passes: {label: function()}.
        rounds: timed calls per function.
        warmup: untimed calls per function first (tracing, compilation, caches).

    Returns:
        {label: [seconds per call]}.
    """
    for function in passes.values():
        for _ in range(warmup):
            function()
    times = {label: [] for label in passes}
    for label in interleaved(list(passes), rounds):
        start = time.perf_counter()
        passes[label]()
        times[label].append(time.perf_counter() - start)
    return times


def input_batches(features, batch, padding):
    """The features as tensors in batches of `batch` rows (see `data.batches`).

    Args:
        features: `Features`.
        batch: rows per batch.
        padding: "seq_len" (input order, every batch padded to seq_len) or "batch" (rows
            sorted by length, each batch padded to its longest row).
    """
    import tensorflow as tf
    from data.batches import inference_batches

    return [[tf.constant(x) for x in features.batch(rows, padding)]
            for rows in inference_batches(features.lengths, batch, padding)]


def onnx_feeds(batches):
    """The same batches as ONNX Runtime's inputs (int64 NumPy arrays by input name)."""
    from deploy.onnx_runtime import feeds

    return [feeds([x.numpy() for x in inputs]) for inputs in batches]


def one_pass(function, batches):
    """A call that runs `function` over every batch, waiting for each result."""
    def run():
        for inputs in batches:
            np.asarray(function(inputs))  # reading the result back waits for the device
    return run


class Contestant(NamedTuple):
    """One timed model: its label, compiled pass, the padding of its inputs ("seq_len" or
    "batch"), and its `RetentionConfiguration` for the FLOP count (None: BERT; `flops`
    False: no count, as for keras-hub); `engine`
    "onnxruntime" runs on `onnx_feeds`, with `twin` the label of the TensorFlow model
    whose outputs it must give (None: other weights)."""

    label: str
    forward: Callable
    padding: str
    retention: RetentionConfiguration | None = None
    flops: bool = True
    engine: str = "tensorflow"
    twin: str | None = None


def benchmark(config, seq_len, batch, retentions, features, checkpoint=None, rounds=10,
              warmup=2, xla=False, keras_hub=True, extract_cost=None, onnx=False):
    """Times one pass over `features` of BERT both ways, PoWER-BERT and keras-hub's BERT.

    - BERT padded to seq_len (the paper's baseline): rows in input order, every batch
      (batch, seq_len).
    - BERT on real lengths (the strong baseline): rows sorted by length, each batch padded
      to its longest row, as with Hugging Face's `group_by_length`.
    - PoWER-BERT at each configuration, absolute then relative, on the same length-aware
      batches.
    - keras-hub's BertBackbone (if asked), on the same length-aware batches.
    - `extract_cost` (if given), PoWER-BERT on inputs padded to seq_len.
    - With `onnx`, on ONNX Runtime and the same length-aware batches: BERT by Optimum's
      recipe (if torch and transformers are installed) and our export of BERT and of every
      PoWER-BERT configuration, each in fp32 and int8.

    Args:
        config: a `BertConfig`.
        seq_len: N, the truncation limit and the padded baseline's length.
        batch: rows per batch.
        retentions: the PoWER-BERT configurations, `RetentionConfiguration`s, absolute or
            relative (labelled by their `label`).
        features: `Features` of the rows to run (see `benchmarks.models.real_inputs`).
        checkpoint: weights for all models (None: random).
        rounds, warmup: see `time_interleaved`.
        xla: compile with XLA.
        keras_hub: also time keras-hub's BertBackbone.
        extract_cost: a configuration to time padded to seq_len (see
            `benchmarks.models.extract_cost_retention`), or None.
        onnx: add the ONNX Runtime contestants.

    Returns:
        A list of row dicts with the keys of COLUMNS, in the order above. Ideal speedups
        are exact FLOP ratios on the real lengths of these rows (none for keras-hub and
        Optimum's BERT, whose weights differ). `speedup_vs_ort_bert`: an ONNX Runtime
        model's against the faster plain BERT on ONNX Runtime of its precision;
        `max_diff_vs_tf`: its largest output difference from the same model in TensorFlow.
    """
    # Each once, absolute ones first.
    retentions = sorted(dict.fromkeys(retentions), key=lambda retention: retention.relative)
    extra = [] if extract_cost is None else [extract_cost]
    every = retentions + extra
    bert, models = build_models(config, seq_len, every, checkpoint)
    contestants = [Contestant(BERT_PADDED_LABEL, compiled_forward(bert, xla), "seq_len"),
                   Contestant(BERT_LABEL, compiled_forward(bert, xla), "batch")]
    for i, (retention, model) in enumerate(zip(every, models)):
        contestants.append(Contestant(retention.label, compiled_forward(model, xla),
                                      "seq_len" if i >= len(retentions) else "batch",
                                      retention))
    if keras_hub:
        hub = keras_hub_forward(config, xla)
        if hub is not None:
            contestants.append(Contestant(KERAS_HUB_LABEL, hub, "batch", flops=False))
    if onnx:
        contestants += ort_contestants(config, seq_len, bert, models, contestants)
    batches = {padding: input_batches(features, batch, padding)
               for padding in ("seq_len", "batch")}
    batches["onnx"] = onnx_feeds(batches["batch"])

    def inputs_of(c):
        return batches["onnx" if c.engine == "onnxruntime" else c.padding]

    times = time_interleaved({c.label: one_pass(c.forward, inputs_of(c)) for c in contestants},
                             rounds, warmup)
    rows = speedup_rows(config, contestants, times, features, batch, seq_len,
                        effective_threads())
    by_label = {c.label: c for c in contestants}
    for c, row in zip(contestants, rows):
        if c.twin is not None:
            twin = by_label[c.twin]
            row["max_diff_vs_tf"] = max(
                float(np.max(np.abs(np.asarray(c.forward(ort)) - np.asarray(twin.forward(tf)))))
                for ort, tf in zip(inputs_of(c), inputs_of(twin)))
    return rows


def ort_contestants(config, seq_len, bert, models, contestants):
    """fp32 and int8 ONNX Runtime contestants: BERT by Optimum's recipe (if it can be
    made), then our export of BERT and of each PoWER-BERT model on length-aware batches.

    Args:
        config, seq_len: the models' `BertConfig` and N.
        bert, models: from `build_models`.
        contestants: the TensorFlow contestants so far (BERT, then one per model).
    """
    from benchmarks.models import onnx_sessions, optimum_onnx_bert
    from extract_layers import RetentionConfiguration

    threads = effective_threads()
    ort = []
    optimum = optimum_onnx_bert(threads) if not config.is_albert else None
    if optimum is not None:
        print(f"{OPTIMUM_LABEL}: the installed MiniLM, exported by torch.onnx; ONNX Runtime's "
              f"optimizer fused {optimum[2]}")
        for precision, session in zip(ORT_PRECISIONS, optimum[:2]):
            ort.append(Contestant(ort_label(precision, OPTIMUM_LABEL), _ort_forward(session),
                                  "batch", flops=False, engine="onnxruntime"))
    ours = [(BERT_LABEL, bert, RetentionConfiguration().keeping_all(config.num_hidden_layers,
                                                                     seq_len))]
    ours += [(c.label, model, c.retention)
             for c, model in zip(contestants[2:], models) if c.padding == "batch"]
    for label, model, retention in ours:
        sessions = onnx_sessions(model, config, retention, threads)
        for precision, session in zip(ORT_PRECISIONS, sessions):
            ort.append(Contestant(ort_label(precision, label), _ort_forward(session), "batch",
                                  None if label == BERT_LABEL else retention,
                                  engine="onnxruntime",
                                  twin=label if precision == "fp32" else None))
    return ort


def _ort_forward(session):
    return lambda feed: session.run(None, feed)[0]
