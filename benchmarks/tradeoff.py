"""Accuracy against speed: one fine-tuning, then search + re-training at several LAMBDAs.

Step 1 of PoWER-BERT runs once into OUTPUT_DIR; every LAMBDA gets OUTPUT_DIR/lambda_<value>/
with a copy of finetune.hdf5, runs steps 2 and 3 there, and so finds its own retention
configuration. With `--seeds`, every LAMBDA runs at each seed (OUTPUT_DIR/<mode>_lambda_<value>_
seed_<seed>/), from the one fine-tuned BERT, and tradeoff_seeds.csv gives the median and the
range over seeds of each dev metric and of the speedups; the picture shows the medians, the
ranges as error bars. The speedup of every configuration is then measured in one interleaved
inference benchmark (benchmarks.timing) on the task's dev rows, against BERT padded to
seq_len and BERT on real lengths, and written with the dev metric to tradeoff.csv and
tradeoff.png (the paper's trade-off figure, with both BERT baselines as reference points).
With `--searched` an earlier sweep's configuration searches are re-trained again (e.g. with
`--retrain-epochs`), so that two re-training recipes compare on the same searches. With
`--equal-budget-bert` BERT is also fine-tuned alone for as many epochs as a run has in its three
steps (OUTPUT_DIR/bert_equal_budget, at the first seed, its best dev epoch kept): the "BERT at an
equal budget" line of tradeoff.csv, the BERT a run's accuracy is judged against. Run again,
a sweep goes on where it stopped: no step finished with the same arguments is run again.

Long: run it in the background, e.g.
    nohup python -m benchmarks.tradeoff --task mrpc --data-dir ../shared/glue/MRPC \
        --output-dir /tmp/tradeoff --lambdas 0.0005,0.001,0.002,0.003,0.005 \
        --threads 2 > /tmp/tradeoff.log 2>&1 &
"""

import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from errors import OneLineParser, comma_list, exit_code  # noqa: E402


def parse_args(argv):
    p = OneLineParser(prog="python -m benchmarks.tradeoff", description=__doc__.splitlines()[0])
    p.add_argument("--task", default="mrpc")
    p.add_argument("--task-config", help="main.py's --TASK_CONFIG_PATH: a task of your own "
                   "data (docs/own-data.md), or a built-in task's seq_len")
    p.add_argument("--data-dir", required=True, help="the task's GLUE folder")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--lambdas", default="",
                   help="comma-separated LAMBDA values of absolute-mode searches")
    p.add_argument("--relative-lambdas", default="",
                   help="comma-separated LAMBDA values of relative-mode searches")
    p.add_argument("--group-by-length", action="store_true",
                   help="train on batches of similar lengths (faster)")
    p.add_argument("--finetuned", help="a finetune.hdf5 of an earlier run: skips step 1")
    p.add_argument("--epochs", type=int, help="epochs of each step (default: the task's)")
    p.add_argument("--search-epochs", type=int, help="step 2's epochs: --SEARCH_EPOCH")
    p.add_argument("--retrain-epochs", type=int, help="step 3's epochs: --RETRAIN_EPOCH")
    p.add_argument("--searched",
                   help="the OUTPUT_DIR of an earlier sweep from the same --finetuned: each run "
                        "re-trains from that sweep's configuration search of its mode, LAMBDA "
                        "and seed instead of searching again (compares re-training recipes)")
    p.add_argument("--equal-budget-bert", action="store_true",
                   help="also fine-tune BERT alone for as many epochs as steps 1 to 3 have in all")
    p.add_argument("--batch-size", type=int, help="default: the task's")
    p.add_argument("--lr-bert", type=float, help="default: the task's")
    p.add_argument("--lr-soft-extract", type=float, help="default: the task's")
    p.add_argument("--train-rows", type=int, help="use only the first rows of train.tsv")
    p.add_argument("--dev-rows", type=int, help="use only the first rows of dev.tsv")
    p.add_argument("--bench-batch", type=int, default=32, help="batch of the speed benchmark")
    p.add_argument("--bench-rows", type=int,
                   help="time only the first rows of the dev rows (long inputs: BERT padded to "
                        "seq_len takes minutes a round); default: all")
    p.add_argument("--rounds", type=int, default=10, help="rounds of the speed benchmark")
    p.add_argument("--threads", type=int, help="TensorFlow threads (default: TensorFlow's)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of dropout and of new layers' initial weights, as main.py's "
                        "--SEED (default 0)")
    p.add_argument("--distill", type=float, default=0.0, metavar="ALPHA",
                   help="steps 2 and 3 learn from the fine-tuned BERT, as main.py's --DISTILL "
                        "ALPHA (default 0: off)")
    p.add_argument("--temperature", type=float, metavar="T",
                   help="temperature of --distill (default: main.py's)")
    p.add_argument("--mass-penalty", choices=("paper", "flops"), default="paper",
                   help="weights of the blocks' masses in the search's penalty: the paper's "
                        "j, or the FLOPs a kept word costs (main.py's --MASS_PENALTY)")
    p.add_argument("--seeds",
                   help="comma-separated seeds: every LAMBDA runs at each (the fine-tuning "
                        "at the first); default: --seed alone")
    args = p.parse_args(argv)
    args.seeds = [args.seed] if args.seeds is None else comma_list("--seeds", args.seeds, int)
    for flag in ("lambdas", "relative_lambdas"):
        text = getattr(args, flag)
        try:
            setattr(args, flag, [float(v) for v in text.split(",")] if text else [])
        except ValueError:
            p.error(f"--{flag.replace('_', '-')} {text!r} is not a comma-separated list of "
                    "numbers")
    for flag in ("epochs", "search_epochs", "retrain_epochs"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            p.error(f"--{flag.replace('_', '-')} must be a positive integer, not {value}")
    if not 0 <= args.distill <= 1:
        p.error(f"--distill {args.distill} is not an ALPHA from 0 to 1")
    if args.temperature is not None and not args.temperature > 0:
        p.error(f"--temperature {args.temperature} must be > 0")
    if not (args.lambdas or args.relative_lambdas):
        p.error("give --lambdas, --relative-lambdas or both")
    return args


def load_task_data(task, data_dir, tokenizer, train_rows=None, dev_rows=None):
    """Encoded train and dev splits, optionally cut to their first rows."""
    from data.glue import read_examples
    from training.step_inputs import TaskData

    return TaskData.from_examples(task, read_examples(task, data_dir, "train")[:train_rows],
                                  read_examples(task, data_dir, "dev")[:dev_rows], tokenizer)


def sweep(context, checkpoint, runs, finetuned_path=None, searched_dir=None):
    """Fine-tunes once (or takes an earlier fine-tuning), then runs steps 2 and 3 per LAMBDA.

    Args:
        context: the `training.steps` `StepContext` of the fine-tuning: its output_dir is
            the sweep's, where each run gets a sub-folder; `hp.lambda_`, `hp.retention_mode`
            and `hp.seed` are replaced per run.
        checkpoint: the pre-trained model (Google checkpoint prefix).
        runs: (retention mode, LAMBDA, seed) triples.
        finetuned_path: finetune.hdf5 of an earlier run of the same task, instead of step 1.
        searched_dir: OUTPUT_DIR of an earlier sweep: step 2 of each run is taken from its
            run folder of the same name (`earlier_search`) instead of run.

    Returns:
        (fine-tuned dev metrics, [(mode, LAMBDA, seed, `RetentionConfiguration`, dev metrics)]).

    A step that the progress.json of its folder records as finished with the same arguments
    (`training.progress.step_once`) is not run again: a sweep run again goes on where it
    stopped, and one given more LAMBDAs or seeds runs only those.
    """
    import dataclasses

    from benchmarks.tradeoff_runs import earlier_search, pre_trained
    from checkpoints.load import load_weights
    from modeling.bert import build_model
    from scoring.evaluation import evaluate, format_metrics
    from training.progress import step_once
    from training.steps import (FINETUNE, SEARCH, STEP_OUTPUTS, configuration_search, fine_tune,
                                flop_report, retrain, with_teacher)

    config, task, hp, log = context.config, context.task, context.hp, context.log
    several_seeds = len({seed for _, _, seed in runs}) > 1
    names = [f"{mode}_lambda_{value:g}" + (f"_seed_{seed}" if several_seeds else "")
             for mode, value, seed in runs]
    run_hps = [dataclasses.replace(hp, lambda_=value, retention_mode=mode, seed=seed)
               for mode, value, seed in runs]
    # Every earlier search is checked before the first run, not hours into the sweep.
    searches = ([earlier_search(os.path.join(searched_dir, name), run_hp.retention, task,
                                config) for name, run_hp in zip(names, run_hps)]
                if searched_dir else [None] * len(runs))
    # Each run sets its own LAMBDA, and steps 2 and 3 their epochs: no part of step 1.
    step_1 = {"task": task.name, "rows": context.data.digest(),
              "initial": finetuned_path or checkpoint,
              "hyperparameters": repr(dataclasses.replace(hp, lambda_=None, search_epochs=None,
                                                          retrain_epochs=None))}

    def first():
        if not finetuned_path:
            return fine_tune(context, pre_trained(context, checkpoint))
        shutil.copyfile(finetuned_path, context.path(FINETUNE))
        model = build_model(config, task.seq_len, task.num_labels)
        load_weights(model, finetuned_path, "HDF5", config, task.seq_len)
        metrics = evaluate(model, task, context.data.dev, context.data.dev_labels,
                           hp.batch_size, hp.padding)
        log(f"Fine-tuned model {finetuned_path}: dev {format_metrics(metrics)}")
        return metrics

    finetuned = step_once(context.output_dir, step_1, *STEP_OUTPUTS[0], first, log)
    if hp.distills:  # one teacher for every run: they all start from this finetune.hdf5
        context = with_teacher(context)
    results = []
    for number, (name, (mode, value, seed), run_hp, search) in enumerate(
            zip(names, runs, run_hps, searches), start=1):
        run = dataclasses.replace(context, hp=run_hp,
                                  output_dir=os.path.join(context.output_dir, name))
        os.makedirs(run.output_dir, exist_ok=True)
        shutil.copyfile(context.path(FINETUNE), run.path(FINETUNE))
        log(f"Run {number}/{len(runs)}: {mode} retention, LAMBDA {value:g}, seed {seed} in "
            f"{run.output_dir}")
        arguments = {"fine-tuning": step_1, "hyperparameters": repr(run_hp),
                     "searched": search and search[0]}

        def search_step():
            if not search:
                return list(configuration_search(run).values)
            path, retention = search
            shutil.copyfile(path, run.path(SEARCH))
            log(f"Step 2/3: configuration search taken from {path} (--searched): "
                f"Retention Configuration : {retention}")
            log(flop_report(config, task, context.data.dev.lengths, retention))
            return list(retention.values)

        retention = dataclasses.replace(run_hp.retention, values=step_once(
            run.output_dir, arguments, *STEP_OUTPUTS[1], search_step, log))
        metrics = step_once(run.output_dir, arguments, *STEP_OUTPUTS[2],
                            lambda: retrain(run, retention), log)
        results.append((mode, value, seed, retention, metrics))
    return finetuned, results


def measure(config, checkpoint, task, results, features, batch, rounds):
    """benchmarks.timing rows of both BERT baselines and each configuration of `results`
    (from `sweep`), in one interleaved run on `features` (the task's own dev rows)."""
    from benchmarks.timing import benchmark

    return benchmark(config, task.seq_len, batch, [r for _, _, _, r, _ in results], features,
                     checkpoint, rounds, keras_hub=False)


def run(args):
    from benchmarks.models import MINILM, load_model_spec
    from benchmarks.timing import set_threads
    from benchmarks.tradeoff_runs import equal_budget_bert
    from benchmarks.tradeoff_report import write_outputs
    from data.features import Features
    from data.tasks import get_task
    from tokenization import load_model_tokenizer
    from training.distillation import DEFAULT_TEMPERATURE
    from training.log import RunLog
    from training.step_inputs import Hyperparameters, StepContext

    if args.threads is not None:
        set_threads(args.threads)
    # The sweep trains the embedded MiniLM: its own defaults, where the task table has them.
    task = get_task(args.task, args.task_config, args.data_dir).defaults_for(True)
    config, checkpoint, vocab = load_model_spec(MINILM)
    tokenizer = load_model_tokenizer(vocab, False, config.vocab_size, MINILM)
    data = load_task_data(task, args.data_dir, tokenizer, args.train_rows, args.dev_rows)
    hp = Hyperparameters(**task.step_epochs_unless_given(args.epochs, args.search_epochs,
                                                         args.retrain_epochs),
                         lambda_=task.lambda_,
                         group_by_length=args.group_by_length, seed=args.seeds[0],
                         distill=args.distill,
                         temperature=args.temperature or DEFAULT_TEMPERATURE,
                         mass_penalty=args.mass_penalty,
                         **task.unless_given(epochs=args.epochs, batch_size=args.batch_size,
                                             lr_bert=args.lr_bert,
                                             lr_soft_extract=args.lr_soft_extract))
    os.makedirs(args.output_dir, exist_ok=True)
    log = RunLog(args.output_dir)
    log(f"Trade-off sweep: {task.name}, {len(data.train)} train / {len(data.dev)} dev rows, "
        f"LAMBDA {args.lambdas}, relative LAMBDA {args.relative_lambdas}, seeds {args.seeds}, "
        f"{hp}")
    runs = [(mode, value, seed) for seed in args.seeds
            for mode, values in (("absolute", args.lambdas), ("relative", args.relative_lambdas))
            for value in values]
    context = StepContext(config, task, data, hp, args.output_dir, log)
    finetuned, results = sweep(context, checkpoint, runs, args.finetuned, args.searched)
    equal = equal_budget_bert(context, checkpoint) if args.equal_budget_bert else None
    timed = data.dev if args.bench_rows is None else \
        Features(*(x[:args.bench_rows] for x in data.dev.inputs))
    rows = measure(config, checkpoint, task, results, timed, args.bench_batch, args.rounds)
    for path in write_outputs(args.output_dir, task, finetuned, results, rows, equal):
        log(f"Wrote {path}")


def main(argv=None):
    """Runs the sweep; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags={"checkpoint": "--finetuned", "data_dir": "--data-dir",
                            "task": "--task", "task_config": "--task-config"})


if __name__ == "__main__":
    sys.exit(main())
