"""Inference speed of PoWER-BERT against two BERT baselines, with the same weights, in one process.

One row per model, on the task's real dev rows: BERT padded to seq_len (the paper's baseline),
BERT on real lengths (the strong one), PoWER-BERT at each `--retention` and `--relative`
configuration, and keras-hub's `BertBackbone` of the same size (the peer a Keras user would
otherwise pick); `benchmarks.timing` says how they are timed and what the speedups are
against. With `--onnx`, ONNX Runtime contestants on the same batches: plain BERT exported and
fused by Hugging Face Optimum's recipe, and our ONNX export of BERT and of every PoWER-BERT
configuration, each in fp32 and int8 (`speedup_vs_ort_bert` compares each with the faster
plain BERT on ONNX Runtime of its precision). Then lines: our BERT against keras-hub, with
`--extract-cost` what one Extract layer costs; with `--onnx` a line says what Optimum's optimizer
fused.

Usage:
    python -m benchmarks.inference --model minilm --threads 2 --batch 64 --seq-len 128 \
        --retention 66,50,41,9,3,1 --retention 44,23,13,2,1,1
    python -m benchmarks.inference --threads 2 --batch 64 --split test --onnx --no-keras-hub \
        --relative 0.8057,0.5795,0.456,0.1981,0.0599,0.0084
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.models import (DEFAULT_DATA_DIR, MINILM, NAMED_SIZES,  # noqa: E402
                               default_retentions, extract_cost_retention, load_model_spec,
                               real_inputs)
from benchmarks.timing import benchmark, set_threads  # noqa: E402
from benchmarks.timing_table import (BERT_LABEL, BERT_PADDED_LABEL, KERAS_HUB_LABEL,  # noqa: E402
                                     format_table)
from errors import UserError, exit_code  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.inference",
                                description=__doc__.splitlines()[0])
    p.add_argument("--model", default=MINILM,
                   help=f"{MINILM} (the real converted MiniLM), {', '.join(NAMED_SIZES)} (random "
                        "weights), or a bert_config.json (with --checkpoint for its weights)")
    p.add_argument("--checkpoint", help="Google checkpoint prefix or .hdf5 for a bert_config.json")
    p.add_argument("--vocab", help="vocab.txt or SentencePiece .model (default: MiniLM's)")
    p.add_argument("--task", default="mrpc", help="the task of --data-dir (default mrpc)")
    p.add_argument("--task-config", help="main.py's --TASK_CONFIG_PATH: a task of your own "
                   "data (docs/own-data.md), or a built-in task's seq_len")
    p.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                   help="the task's folder, whose dev.tsv rows are the inputs (default: MRPC)")
    p.add_argument("--split", choices=("dev", "test"), default="dev",
                   help="whose rows are the inputs (default dev)")
    p.add_argument("--rows", type=int, help="use the first rows of the split (default: all)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, help="default: the task's (mrpc 128, imdb 512)")
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
    p.add_argument("--onnx", action="store_true",
                   help="also time ONNX Runtime: BERT by Optimum's recipe, and our export of "
                        "BERT and of every configuration, fp32 and int8")
    p.add_argument("--extract-cost", action="store_true",
                   help="also time retention N-1, N-2, ..., N-L to measure what an Extract "
                        "layer costs, as a share of a block")
    args = p.parse_args(argv)
    for flag in ("batch", "seq_len", "rounds", "rows"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be a positive integer")
    return args


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
    from data.tasks import get_task
    from extract_layers import RELATIVE, RetentionConfiguration
    from tokenization import load_model_tokenizer

    if args.threads is not None:
        set_threads(args.threads)
    config, checkpoint, vocab = load_model_spec(args.model, args.checkpoint, args.vocab)
    if args.seq_len is None:
        args.seq_len = get_task(args.task, args.task_config, args.data_dir).seq_len
    if args.seq_len > config.max_position_embeddings:
        raise UserError(f"--seq-len {args.seq_len} exceeds the model's "
                        f"{config.max_position_embeddings} positions")
    retentions = [RetentionConfiguration().parse(r, config.num_hidden_layers, args.seq_len)
                  for r in args.retention]
    if not (retentions or args.relative):
        retentions = default_retentions(config, args.seq_len)
    retentions += [RetentionConfiguration(mode=RELATIVE).parse(r, config.num_hidden_layers,
                                                               args.seq_len)
                   for r in args.relative]
    extract_cost = extract_cost_retention(config, args.seq_len) if args.extract_cost else None
    tokenizer = load_model_tokenizer(vocab, False, config.vocab_size, args.model)
    features = real_inputs(tokenizer, args.seq_len, args.data_dir, args.task, args.rows,
                           args.split, args.task_config)
    print(f"model {args.model}: {config.num_hidden_layers} blocks, H {config.hidden_size}, "
          f"{config.num_attention_heads} heads; weights {checkpoint or 'random'}; "
          f"{len(features)} {args.task} {args.split} rows, mean length "
          f"{features.lengths.mean():.1f}; "
          f"XLA {'on' if args.xla else 'off'}; {args.rounds} rounds; ms per pass over all rows")
    rows = benchmark(config, args.seq_len, args.batch, retentions, features, checkpoint,
                     args.rounds, args.warmup, args.xla, keras_hub=not args.no_keras_hub,
                     extract_cost=extract_cost, onnx=args.onnx)
    print(format_table(rows))
    extract_label = None if extract_cost is None else extract_cost.label
    for line in summary(rows, config, extract_label):
        print(line)


def main(argv=None):
    """Runs the benchmark; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags={"bert_config": "--model", "checkpoint": "--checkpoint",
                            "data_dir": "--data-dir", "retention": "--retention",
                            "task": "--task", "task_config": "--task-config"})


if __name__ == "__main__":
    sys.exit(main())
