"""What a prediction process pays before its batches run at full speed: tracing the forward
pass, the first run of its graph, and the fixed cost of every batch.

One model per process, set up as main.py's --PREDICT_ONLY sets it up (Grappler off on CPU,
the model frozen out of the garbage collector's reach), on the MiniLM with fresh weights,
which cost what trained ones cost. The per-batch cost is timed on a 3-token row, whose
arithmetic is negligible.

Usage:
    python -m benchmarks.first_batch --threads 2                # BERT (l_j = seq_len)
    python -m benchmarks.first_batch --threads 2 --relative 0.8057,0.5795,0.456,0.1981,0.0599,0.0084
"""

import argparse
import contextlib
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from errors import exit_code  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.first_batch",
                                description=__doc__.splitlines()[0])
    p.add_argument("--relative", help="f_1,...,f_L: relative PoWER-BERT (default: BERT)")
    p.add_argument("--task", default="mrpc", help="its seq_len is the default --seq-len")
    p.add_argument("--seq-len", type=int, help="default: the task's (mrpc 128, imdb 512)")
    p.add_argument("--calls", type=int, default=100,
                   help="calls on the 3-token row after the first (default 100)")
    p.add_argument("--threads", type=int, help="TensorFlow threads (default: TensorFlow's)")
    args = p.parse_args(argv)
    if args.calls < 1 or (args.seq_len is not None and args.seq_len < 3):
        p.error("--calls must be at least 1 and --seq-len at least 3")
    return args


def run(args):
    import numpy as np

    from benchmarks.models import MINILM, compiled_forward, load_model_spec
    from benchmarks.timing import set_threads
    from data.tasks import get_task
    from extract_layers import RELATIVE, RetentionConfiguration
    from modeling.bert import build_model
    from runs.run import settle_for_inference

    if args.threads is not None:
        set_threads(args.threads)
    if args.seq_len is None:
        args.seq_len = get_task(args.task).seq_len
    config, _, _ = load_model_spec(MINILM)
    if args.relative is None:
        retention = RetentionConfiguration().keeping_all(config.num_hidden_layers, args.seq_len)
        label = "BERT"
    else:
        retention = RetentionConfiguration(mode=RELATIVE).parse(
            args.relative, config.num_hidden_layers, args.seq_len)
        label = f"relative {args.relative}"
    model = build_model(config, args.seq_len, 2, retention)
    row = [np.array([[101, 2023, 102]], np.int32), np.zeros((1, 3), np.int32),
           np.ones((1, 3), np.int32)]  # [CLS] this [SEP]
    with contextlib.ExitStack() as held:
        settle_for_inference(held)
        forward = compiled_forward(model)
        started = time.perf_counter()
        nodes = len(forward.get_concrete_function().graph.as_graph_def().node)
        traced = time.perf_counter()
        np.asarray(forward(row))
        first = time.perf_counter()
        for _ in range(args.calls):
            np.asarray(forward(row))
        done = time.perf_counter()
    print(f"{label}: tracing {traced - started:.3f} s ({nodes} graph nodes), first run "
          f"{first - traced:.3f} s, then {1000 * (done - first) / args.calls:.2f} ms per call "
          "on a 3-token row")


def main(argv=None):
    """Runs the probe; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags={"retention": "--relative", "task": "--task"})


if __name__ == "__main__":
    sys.exit(main())
