"""Inference speed of PoWER-BERT against two BERT baselines, with the same weights, in one process.

Every speedup is reported against both baselines: BERT with every input padded to seq_len
(the paper's) and BERT on real lengths, rows sorted by length and each batch padded to its
longest row (the strong one, what Hugging Face's `group_by_length` gives). PoWER-BERT at each
`--retention` and keras-hub's `BertBackbone` of the same size (the peer a Keras user would
otherwise pick) run on the same length-aware batches. Each model's pass over all the rows is
one `tf.function` for any batch shape, warmed up, then timed interleaved: every round runs
each model once, in a rotated order, so that a slow moment of the machine hits all alike.

The inputs are the task's real dev rows. The ideal speedups are exact FLOP ratios
(`modeling.flops`, the project's one FLOP count) on the real lengths of those rows.

Usage:
    python -m benchmarks.inference --model minilm --threads 2 --batch 64 --seq-len 128 \
        --retention 66,50,41,9,3,1 --retention 44,23,13,2,1,1
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from errors import UserError, exit_code  # noqa: E402

_REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = _REPO.parent / "shared" / "glue" / "MRPC"

# Google's released sizes (uncased vocabulary), for random-weight models of that shape.
NAMED_SIZES = {
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072),
    "bert-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                       intermediate_size=4096),
}
MINILM = "minilm"
BERT_PADDED_LABEL = "BERT-padded"
BERT_LABEL = "BERT"
KERAS_HUB_LABEL = "keras-hub-BertBackbone"
COLUMNS = ("configuration", "padding", "rows", "batch", "seq_len", "threads", "ms_min",
           "ms_median", "examples_per_s", "speedup_vs_padded", "ideal_vs_padded",
           "speedup_vs_real", "ideal_vs_real", "of_ideal")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.inference",
                                description=__doc__.splitlines()[0])
    p.add_argument("--model", default=MINILM,
                   help=f"{MINILM} (the real converted MiniLM), {', '.join(NAMED_SIZES)} (random "
                        "weights), or a bert_config.json (with --checkpoint for its weights)")
    p.add_argument("--checkpoint", help="Google checkpoint prefix or .hdf5 for a bert_config.json")
    p.add_argument("--vocab", help="vocab.txt or SentencePiece .model (default: MiniLM's)")
    p.add_argument("--task", default="mrpc", help="the GLUE task of --data-dir (default mrpc)")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                   help="the task's folder, whose dev.tsv rows are the inputs (default: MRPC)")
    p.add_argument("--rows", type=int, help="use the first rows of dev.tsv (default: all)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--retention", action="append", default=[],
                   help="l_1,...,l_L of a PoWER-BERT configuration (repeatable); default: "
                        "three progressively halving configurations")
    p.add_argument("--relative", action="append", default=[],
                   help="f_1,...,f_L of a relative configuration, shares of each input's "
                        "length (repeatable)")
    p.add_argument("--threads", type=int,
                   help="TensorFlow intra- and inter-op threads (default: TensorFlow's)")
    p.add_argument("--xla", action="store_true", help="compile with XLA (jit_compile)")
    p.add_argument("--rounds", type=int, default=10, help="timed rounds (default 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls per model (default 2)")
    p.add_argument("--no-keras-hub", action="store_true", help="skip keras-hub's BertBackbone")
    p.add_argument("--extract-cost", action="store_true",
                   help="also time retention N-1, N-2, ..., N-L to measure what an Extract "
                        "layer costs, as a share of a block")
    args = p.parse_args(argv)
    for flag in ("batch", "seq_len", "rounds", "rows"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be a positive integer")
    return args


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


def load_model_spec(model, checkpoint=None, vocab=None):
    """Resolves `--model` into a config, an optional checkpoint and a vocabulary.

    Args:
        model: "minilm", a name in NAMED_SIZES, or the path of a bert_config.json.
        checkpoint: weights for a bert_config.json (None: random weights).
        vocab: the vocabulary of the inputs (None: MiniLM's uncased WordPiece vocab).

    Returns:
        (BertConfig, checkpoint path or None, vocab path).
    """
    from checkpoints.default_model import ensure_default_model
    from modeling.config import BertConfig, load_config

    default_config, default_checkpoint, default_vocab = ensure_default_model()
    if model == MINILM:
        return load_config(default_config), default_checkpoint, vocab or default_vocab
    if model in NAMED_SIZES:
        config = BertConfig(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2,
                            **NAMED_SIZES[model])
        return config, None, vocab or default_vocab
    if not model.endswith(".json"):
        raise UserError(f"--model {model!r} is neither {MINILM}, one of "
                        f"{', '.join(NAMED_SIZES)}, nor a bert_config.json")
    return load_config(model), checkpoint, vocab or default_vocab


def real_inputs(tokenizer, seq_len, data_dir=DEFAULT_DATA_DIR, task_name="mrpc", rows=None):
    """The task's real dev rows, tokenized and truncated to seq_len, as model inputs.

    Args:
        tokenizer: from `tokenization.load_tokenizer`.
        seq_len: the truncation limit (and the padded baseline's length).
        data_dir: the task's GLUE folder holding dev.tsv.
        task_name: the task whose dev.tsv format to read.
        rows: use only the first rows (None: all).

    Returns:
        `data.features.Features`.
    """
    from data.features import encode
    from data.glue import read_examples
    from data.tasks import get_task

    examples = read_examples(get_task(task_name), str(data_dir), "dev")[:rows]
    return encode(examples, tokenizer, seq_len)


def default_retentions(config, seq_len):
    """Three configurations that shrink by a constant factor per block (0.8, 0.65, 0.5)."""
    return [[max(1, int(seq_len * factor ** j)) for j in range(1, config.num_hidden_layers + 1)]
            for factor in (0.8, 0.65, 0.5)]


def extract_cost_retention(config, seq_len):
    """N-1, N-2, ..., N-L: every Extract layer runs, while the FLOPs barely drop.

    Timed on inputs padded to seq_len, where every block really has N vectors to cut.
    """
    return [max(1, seq_len - j) for j in range(1, config.num_hidden_layers + 1)]


def build_models(config, seq_len, retentions, checkpoint=None, num_labels=2, relative=()):
    """BERT and one PoWER-BERT model per retention configuration, all with the same weights.

    Args:
        config: a `BertConfig`.
        seq_len: N.
        retentions: lists l_1..l_L (or shares f_1..f_L, for those in `relative`).
        checkpoint: Google checkpoint prefix or .hdf5 to load (None: BERT's random weights).
        num_labels: classes of the classifier on top.
        relative: the indices in `retentions` of relative configurations.

    Returns:
        (BERT model, [PoWER-BERT models]); only real words vote in their significance score.
    """
    from checkpoints.assign import assign_weights
    from checkpoints.load import guess_format, load_weights
    from modeling.bert import build_model

    bert = build_model(config, seq_len, num_labels)
    if checkpoint:
        load_weights(bert, checkpoint, guess_format(checkpoint), config, seq_len,
                     optional=("NSP",))
    weights = {layer.name: layer.get_weights() for layer in bert.layers if layer.weights}
    models = []
    for i, retention in enumerate(retentions):
        model = build_model(config, seq_len, num_labels, retention_configuration=retention,
                            relative=i in relative)
        assign_weights(model, weights)
        models.append(model)
    return bert, models


def compiled_forward(model, xla=False):
    """The model's inference pass as one `tf.function` for any (batch, n) int32 inputs."""
    import tensorflow as tf

    spec = [tf.TensorSpec((None, None), tf.int32)] * 3
    return tf.function(lambda token, segment, mask: model([token, segment, mask], training=False),
                       input_signature=spec, jit_compile=xla)


def keras_hub_forward(config, xla=False):
    """keras-hub's `BertBackbone` of the same size (random weights), compiled like ours.

    Returns:
        The compiled pass (pooled output), or None where keras-hub is not installed or the
        model is an ALBERT (which BertBackbone cannot express).
    """
    import tensorflow as tf

    try:
        from keras_hub.models import BertBackbone
    except ImportError:
        return None
    if config.is_albert:
        return None
    backbone = BertBackbone(vocabulary_size=config.vocab_size,
                            num_layers=config.num_hidden_layers,
                            num_heads=config.num_attention_heads,
                            hidden_dim=config.hidden_size,
                            intermediate_dim=config.intermediate_size,
                            dropout=config.hidden_dropout_prob,
                            max_sequence_length=config.max_position_embeddings,
                            num_segments=config.type_vocab_size)
    spec = [tf.TensorSpec((None, None), tf.int32)] * 3

    def forward(token, segment, mask):
        return backbone({"token_ids": token, "segment_ids": segment, "padding_mask": mask},
                        training=False)["pooled_output"]

    return tf.function(forward, input_signature=spec, jit_compile=xla)


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


def one_pass(function, batches):
    """A call that runs `function` over every batch, waiting for each result."""
    def run():
        for inputs in batches:
            function(*inputs).numpy()  # reading the result back waits for the device
    return run


def time_interleaved(passes, rounds, warmup=2):
    """Times each pass once per round, rotating the order round by round, after warm-up.

    Args:
        passes: {label: function()}.
        rounds: timed calls per function.
        warmup: untimed calls per function first (tracing, compilation, caches).

    Returns:
        {label: [seconds per call]}.
    """
    labels = list(passes)
    for label in labels:
        for _ in range(warmup):
            passes[label]()
    times = {label: [] for label in labels}
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[:r % len(labels)]:
            start = time.perf_counter()
            passes[label]()
            times[label].append(time.perf_counter() - start)
    return times


def relative_label(shares):
    """The table's label of a relative configuration: "rel:0.9,0.7,..."."""
    return "rel:" + ",".join(f"{share:g}" for share in shares)


def benchmark(config, seq_len, batch, retentions, features, checkpoint=None, rounds=10,
              warmup=2, xla=False, keras_hub=True, extract_cost=None, relatives=()):
    """Times one pass over `features` of BERT both ways, PoWER-BERT and keras-hub's BERT.

    - BERT padded to seq_len (the paper's baseline): rows in input order, every batch
      (batch, seq_len).
    - BERT on real lengths (the strong baseline): rows sorted by length, each batch padded
      to its longest row, as with Hugging Face's `group_by_length`.
    - PoWER-BERT at each configuration, absolute then relative, on the same length-aware
      batches.
    - keras-hub's BertBackbone (if asked), on the same length-aware batches.
    - `extract_cost` (if given), PoWER-BERT on inputs padded to seq_len.

    Args:
        config: a `BertConfig`.
        seq_len: N, the truncation limit and the padded baseline's length.
        batch: rows per batch.
        retentions: the PoWER-BERT configurations, lists l_1..l_L.
        features: `Features` of the rows to run (see `real_inputs`).
        checkpoint: weights for all models (None: random).
        rounds, warmup: see `time_interleaved`.
        xla: compile with XLA.
        keras_hub: also time keras-hub's BertBackbone.
        extract_cost: a configuration to time padded to seq_len (see
            `extract_cost_retention`), or None.
        relatives: relative configurations, shares f_1..f_L (labelled by `relative_label`).

    Returns:
        A list of row dicts with the keys of COLUMNS, in the order above. Ideal speedups
        are exact FLOP ratios on the real lengths of these rows (none for keras-hub).
    """
    import numpy as np
    from modeling.flops import total_flops

    retentions = [list(r) for r in dict.fromkeys(map(tuple, retentions))]
    relatives = [list(r) for r in dict.fromkeys(map(tuple, relatives))]
    extra = [] if extract_cost is None else [list(extract_cost)]
    every = retentions + relatives + extra
    relative_indices = range(len(retentions), len(retentions) + len(relatives))
    bert, models = build_models(config, seq_len, every, checkpoint, relative=relative_indices)
    padded, real = input_batches(features, batch, "seq_len"), input_batches(features, batch,
                                                                             "batch")
    lengths = features.lengths
    padded_lengths = np.full(len(features), seq_len)
    # (label, function, batches, lengths the model really runs on, retention, relative)
    entries = [(BERT_PADDED_LABEL, compiled_forward(bert, xla), padded, padded_lengths, None,
                False),
               (BERT_LABEL, compiled_forward(bert, xla), real, lengths, None, False)]
    for i, (retention, model) in enumerate(zip(every, models)):
        on_padded, relative = i >= len(every) - len(extra), i in relative_indices
        entries.append((relative_label(retention) if relative else ",".join(map(str, retention)),
                        compiled_forward(model, xla), padded if on_padded else real,
                        padded_lengths if on_padded else lengths, retention, relative))
    if keras_hub:
        hub = keras_hub_forward(config, xla)
        if hub is not None:
            entries.append((KERAS_HUB_LABEL, hub, real, None, None, False))
    times = time_interleaved({entry[0]: one_pass(entry[1], entry[2]) for entry in entries},
                             rounds, warmup)
    flops_padded = total_flops(config, padded_lengths)
    flops_real = total_flops(config, lengths)
    median = {label: statistics.median(seconds) for label, seconds in times.items()}
    threads = effective_threads()
    rows = []
    for label, _, batches, run_lengths, retention, relative in entries:
        flops = None if run_lengths is None else total_flops(config, run_lengths, retention,
                                                             relative=relative)
        row = dict(configuration=label, padding="seq_len" if batches is padded else "batch",
                   rows=len(features), batch=batch, seq_len=seq_len, threads=threads,
                   ms_min=1000 * min(times[label]), ms_median=1000 * median[label],
                   examples_per_s=len(features) / median[label],
                   speedup_vs_padded=median[BERT_PADDED_LABEL] / median[label],
                   ideal_vs_padded=None if flops is None else flops_padded / flops,
                   speedup_vs_real=median[BERT_LABEL] / median[label],
                   ideal_vs_real=None if flops is None else flops_real / flops)
        row["of_ideal"] = (None if flops is None else
                           row["speedup_vs_real"] / row["ideal_vs_real"])
        rows.append(row)
    return rows


def format_table(rows):
    """The rows as an aligned text table with the COLUMNS as header."""
    def cell(value):
        if value is None:
            return "-"
        return f"{value:.2f}" if isinstance(value, float) else str(value)

    table = [COLUMNS] + [tuple(cell(row[c]) for c in COLUMNS) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(line, widths)))
                     for line in table)


def summary(rows, config, extract_label=None):
    """Lines under the table: our BERT against keras-hub, and the cost of an Extract layer.

    Args:
        rows: from `benchmark`.
        config: its `BertConfig`.
        extract_label: the row of `extract_cost_retention`, if it was timed.
    """
    by_label = {row["configuration"]: row for row in rows}
    lines = []
    if KERAS_HUB_LABEL in by_label:
        ratio = by_label[KERAS_HUB_LABEL]["ms_median"] / by_label[BERT_LABEL]["ms_median"]
        lines.append(f"our BERT vs keras-hub BertBackbone, both on real lengths: {ratio:.2f}x "
                     "as fast (keras-hub median / ours)")
    if extract_label is not None:
        row = by_label[extract_label]
        # Without overhead that model would take padded BERT's time / ideal speedup; the rest
        # is what its L Extract layers cost, and a block costs about BERT's time / L.
        share = (row["ms_median"] / by_label[BERT_PADDED_LABEL]["ms_median"]
                 - 1 / row["ideal_vs_padded"])
        lines.append(f"one Extract layer costs {100 * share:.1f}% of a block "
                     f"(from {extract_label} padded to seq_len, {config.num_hidden_layers} "
                     "blocks)")
    return lines


def run(args):
    from extract_layers import parse_relative_configuration, parse_retention_configuration
    from tokenization import load_tokenizer

    if args.threads is not None:
        set_threads(args.threads)
    config, checkpoint, vocab = load_model_spec(args.model, args.checkpoint, args.vocab)
    if args.seq_len > config.max_position_embeddings:
        raise UserError(f"--seq-len {args.seq_len} exceeds the model's "
                        f"{config.max_position_embeddings} positions")
    retentions = [parse_retention_configuration(r, config.num_hidden_layers, args.seq_len)
                  for r in args.retention]
    if not (retentions or args.relative):
        retentions = default_retentions(config, args.seq_len)
    relatives = [parse_relative_configuration(r, config.num_hidden_layers)
                 for r in args.relative]
    extract_cost = extract_cost_retention(config, args.seq_len) if args.extract_cost else None
    features = real_inputs(load_tokenizer(vocab, cased=False), args.seq_len, args.data_dir,
                           args.task, args.rows)
    if features.token_ids.max() >= config.vocab_size:
        raise UserError(f"the vocabulary {vocab} has ids beyond the model's vocab_size "
                        f"{config.vocab_size}: pass the model's own --vocab")
    print(f"model {args.model}: {config.num_hidden_layers} blocks, H {config.hidden_size}, "
          f"{config.num_attention_heads} heads; weights {checkpoint or 'random'}; "
          f"{len(features)} {args.task} dev rows, mean length {features.lengths.mean():.1f}; "
          f"XLA {'on' if args.xla else 'off'}; {args.rounds} rounds; ms per pass over all rows")
    rows = benchmark(config, args.seq_len, args.batch, retentions, features, checkpoint,
                     args.rounds, args.warmup, args.xla, keras_hub=not args.no_keras_hub,
                     extract_cost=extract_cost, relatives=relatives)
    print(format_table(rows))
    extract_label = None if extract_cost is None else ",".join(map(str, extract_cost))
    for line in summary(rows, config, extract_label):
        print(line)


def main(argv=None):
    """Runs the benchmark; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags={"bert_config": "--model", "checkpoint": "--checkpoint",
                            "data_dir": "--data-dir", "retention": "--retention",
                            "task": "--task"})


if __name__ == "__main__":
    sys.exit(main())
