"""Training speed with and without padding work, side by side in one process.

Times training steps of the README's MRPC command in three ways: every input padded to
seq_len (`--PADDING seq_len`, the original and this project's behaviour before length-aware
batches), the same random batches padded to their longest row (`--PADDING batch`, the
default) and batches of similar lengths (`--GROUP_BY_LENGTH`). Each way gets its own model
with the same starting weights; rounds run each way for a few steps in a rotated order, so
that a slow moment of the machine hits all alike. The ideal speedup is the ratio of forward
FLOPs (`modeling.flops`) of the batches each way ran.

Usage:
    python -m benchmarks.training_speed --data-dir ../shared/glue/MRPC --threads 2 \
        --steps 6 --rounds 3
"""

import argparse
import dataclasses
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from errors import exit_code  # noqa: E402

WAYS = {"padded to seq_len": dict(padding="seq_len"), "batch padding": dict(padding="batch"),
        "batch padding, grouped by length": dict(padding="batch", group_by_length=True)}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.training_speed",
                                description=__doc__.splitlines()[0])
    p.add_argument("--task", default="mrpc")
    p.add_argument("--data-dir", required=True, help="the task's GLUE folder (train.tsv)")
    p.add_argument("--batch-size", type=int, default=64, help="default 64, the README's")
    p.add_argument("--step", choices=("fine-tuning", "configuration search"),
                   default="fine-tuning", help="which training step's model to time")
    p.add_argument("--steps", type=int, default=6, help="training steps per way and round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, help="TensorFlow threads (default: TensorFlow's)")
    args = p.parse_args(argv)
    for flag in ("batch_size", "steps", "rounds"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be a positive integer")
    return args


def time_training(config, checkpoint, task, data, hp, step, steps, rounds):
    """Seconds per training step, and forward FLOPs per step, of each way in WAYS.

    Args:
        config, checkpoint: the pre-trained model.
        task, data, hp: as for `training.steps`; `hp.padding` and `hp.group_by_length` are
            replaced per way.
        step: "fine-tuning" or "configuration search".
        steps: steps per way and round; the first round's first steps trace the model and
            are run once before timing.
        rounds: timed rounds.

    Returns:
        {way: (median seconds per step, forward FLOPs per step)}.
    """
    import numpy as np
    from benchmarks.timing import interleaved
    from checkpoints.load import load_weights
    from modeling.bert import build_model
    from modeling.flops import total_flops
    from training.fit import compile_for_training, training_dataset

    runs = {}
    for way, flags in WAYS.items():
        way_hp = dataclasses.replace(hp, **flags)
        search = step == "configuration search"
        model = build_model(config, task.seq_len, task.num_labels, way_hp.retention,
                            search_lambda=hp.lambda_ if search else None)
        load_weights(model, checkpoint, "CKPT", config, task.seq_len,
                     optional=("NSP",) + tuple(layer.name for layer in model.layers
                                               if "Soft-Extract" in layer.name))
        compile_for_training(model, task, way_hp, len(data.train),
                             retention_lr=hp.lr_soft_extract if search else None)
        batches = iter(training_dataset(data, way_hp)[0])
        for _ in range(3):  # tracing: Keras generalises to any batch width by the third
            model.train_on_batch(*next(batches))
        runs[way] = (model, batches, [], [])
    for way in interleaved(list(runs), rounds):
        model, batches, seconds, flops = runs[way]
        chosen = [next(batches) for _ in range(steps)]  # drawn before the clock starts
        start = time.perf_counter()
        for inputs, labels in chosen:
            model.train_on_batch(inputs, labels)
        seconds.append((time.perf_counter() - start) / steps)
        flops.extend(total_flops(config, np.full(len(labels), inputs[0].shape[1]))
                     for inputs, labels in chosen)
    return {way: (statistics.median(seconds), statistics.mean(flops))
            for way, (_, _, seconds, flops) in runs.items()}


def run(args):
    from benchmarks.models import MINILM, load_model_spec
    from benchmarks.timing import effective_threads, set_threads
    from data.glue import read_examples
    from data.tasks import get_task
    from tokenization import load_model_tokenizer
    from training.step_inputs import Hyperparameters, TaskData

    if args.threads is not None:
        set_threads(args.threads)
    task = get_task(args.task)
    config, checkpoint, vocab = load_model_spec(MINILM)
    tokenizer = load_model_tokenizer(vocab, False, config.vocab_size, MINILM)
    train = read_examples(task, args.data_dir, "train")
    data = TaskData.from_examples(task, train, train[:1], tokenizer)
    hp = Hyperparameters(epochs=3, batch_size=args.batch_size, lr_bert=task.lr_bert,
                         lr_soft_extract=task.lr_soft_extract, lambda_=task.lambda_)
    print(f"{task.name}: {len(train)} training rows, mean length "
          f"{data.train.lengths.mean():.1f}, seq_len {task.seq_len}; {args.step} steps of "
          f"batch {args.batch_size}; {args.steps} steps x {args.rounds} rounds per way; "
          f"{effective_threads()} threads")
    results = time_training(config, checkpoint, task, data, hp, args.step, args.steps,
                            args.rounds)
    base_seconds, base_flops = results["padded to seq_len"]
    print(f"{'way':34} {'s/step':>7} {'speedup':>8} {'ideal (FLOPs)':>14}")
    for way, (seconds, flops) in results.items():
        print(f"{way:34} {seconds:7.2f} {base_seconds / seconds:8.2f} {base_flops / flops:14.2f}")


def main(argv=None):
    """Runs the benchmark; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags={"data_dir": "--data-dir", "task": "--task"})


if __name__ == "__main__":
    sys.exit(main())
