"""A task's LAMBDA, chosen by one rule on rows held out from train: the same rule for every task.

--holdout of the task's training rows (10% by default, always the same rows:
`data.task_copies.held_out_folder`) become the dev rows of a copy of the task in
--work-dir/<task>/heldout_<share>/data, the rest its training rows (with --max-train-rows, the
share is held out of the rows benchmarks.paper_table's cap trains on, drawn with
`data.task_copies.CAP_SEED`, in .../heldout_<share>_of_<cap>). benchmarks.tradeoff fine-tunes
the embedded MiniLM once on that copy, then runs relative PoWER-BERT's search and re-training
at each LAMBDA and seed, with --group-by-length and the task table's defaults for the embedded
MiniLM, and fine-tunes the rule's BERT: step 1 alone for as many epochs as a run has in its
three steps (--equal-budget-bert, issue 35's equal budget), all scored on the held-out rows (in
.../sweep beside data; run again, it goes on where it stopped). `scoring.lambda_rule.choose`
picks the LAMBDA; --out gets one row per LAMBDA of the task (rows of other tasks kept) saying
which was chosen and why. The task's own dev rows are left to score models that no choice has
seen (benchmarks.paper_table).
benchmarks.tradeoff's other flags (--epochs, --threads, --bench-rows, ...) are passed on to
it; --rounds is 1 unless given: the rule takes the ideal speedup, which needs no timing.

    nohup python -m benchmarks.choose_lambda --task rte --data-dir ../shared/glue/RTE \
        --lambdas 0.0003,0.0006,0.001,0.002 --threads 2 > /tmp/choose_lambda.log 2>&1 &
"""

import csv
import os
import statistics
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from data.examples import DEV_SHARE  # noqa: E402
from data.task_copies import CAP_SEED  # noqa: E402
from errors import OneLineParser, UserError, exit_code  # noqa: E402
from scoring.lambda_rule import choose, grid_goes_on, lower_bound  # noqa: E402

COLUMNS = ("task", "metric", "lambda", "seeds", "train_rows", "heldout_rows", "bert_heldout",
           "step1_heldout", "lower_bound", "heldout_median", "heldout_min", "heldout_max",
           "ideal_vs_real_median", "within_1pct", "chosen", "why", "sweep")


def parse_args(argv):
    p = OneLineParser(prog="python -m benchmarks.choose_lambda", allow_abbrev=False,
                      description=__doc__.splitlines()[0],
                      epilog="other flags go to benchmarks.tradeoff (see its --help)")
    p.add_argument("--task", required=True)
    p.add_argument("--data-dir", required=True, help="the task's GLUE folder")
    p.add_argument("--lambdas", required=True, help="comma-separated relative-mode LAMBDAs")
    p.add_argument("--holdout", type=float, default=DEV_SHARE,
                   help=f"share of train held out to choose on (default {DEV_SHARE:g})")
    p.add_argument("--max-train-rows", type=int,
                   help=f"cap the training rows at this many first, drawn with seed {CAP_SEED} as "
                        "benchmarks.paper_table's cap draws them (default: all)")
    p.add_argument("--seeds", default="0", help="comma-separated (default 0)")
    p.add_argument("--work-dir", default="output/choose_lambda", help="where the runs go")
    p.add_argument("--out", default="benchmarks/results/lambda_choice.csv")
    args, rest = p.parse_known_args(argv)
    try:
        [float(value) for value in args.lambdas.split(",")]
    except ValueError:
        raise UserError(f"--lambdas {args.lambdas!r} is not a comma-separated list of numbers, "
                        "like 0.0003,0.001") from None
    if not 0 < args.holdout < 1:
        raise UserError(f"--holdout {args.holdout:g} is not a share between 0 and 1, like 0.1")
    if args.max_train_rows is not None and args.max_train_rows < 2:
        raise UserError(f"--max-train-rows {args.max_train_rows} leaves nothing to hold out; "
                        "give at least 2, like 20000")
    args.tradeoff_flags = rest
    return args


def run(args):
    """Holds the rows out, sweeps on them, chooses, writes --out."""
    from benchmarks import tradeoff
    from benchmarks.tradeoff_report import (BERT_EQUAL_BUDGET, BERT_ON_REAL_LENGTHS, CSV_NAME,
                                            MODELS)
    from data.glue import check_data_dir, read_examples
    from data.tasks import get_task

    task = get_task(args.task)
    capped = "" if args.max_train_rows is None else f"_of_{args.max_train_rows}"
    folder = os.path.join(args.work_dir, task.name, f"heldout_{args.holdout:g}{capped}")
    data_dir, sweep = os.path.join(folder, "data"), os.path.join(folder, "sweep")
    sweep_args = tradeoff.parse_args([  # checks every flag before anything is written
        "--rounds", "1", *args.tradeoff_flags, "--task", task.name, "--data-dir", data_dir,
        "--output-dir", sweep, "--relative-lambdas", args.lambdas, "--seeds", args.seeds,
        "--group-by-length", "--equal-budget-bert"])
    check_data_dir(task, args.data_dir)
    held_out_data(task, args.data_dir, args.holdout, args.max_train_rows, folder)
    tradeoff.run(sweep_args)
    with open(os.path.join(sweep, CSV_NAME), encoding="utf-8", newline="") as f:
        lines = list(csv.DictReader(f))
    bert, runs = {}, {}
    for line in lines:
        if line["model"] in (BERT_EQUAL_BUDGET, BERT_ON_REAL_LENGTHS):
            bert[line["model"]] = float(line["dev_metric"])
        elif line["model"] == MODELS["relative"]:
            runs.setdefault(float(line["lambda"]), []).append(
                (float(line["dev_metric"]), float(line["ideal_vs_real"])))
    bert = (bert[BERT_EQUAL_BUDGET], bert[BERT_ON_REAL_LENGTHS])
    sizes = [len(read_examples(task, data_dir, split)) for split in ("train", "dev")]
    rows = choice_rows(task, bert, runs, sizes, sweep)
    chosen_row = next(row for row in rows if row["chosen"] == "yes")
    chosen, why = chosen_row["lambda"], chosen_row["why"]
    write_choice(args.out, rows)
    print(f"{task.name}: LAMBDA {chosen}, {why}; wrote {args.out}", flush=True)


def choice_rows(task, bert, runs, sizes, sweep):
    """The CSV rows of a task's sweep, one per LAMBDA, the rule's pick marked and, in its
    `why`, where the grid must go on.

    Args:
        task: the `Task`.
        bert: the held-out metric of the rule's BERT (at an equal budget) and of step 1.
        runs: {LAMBDA: [(held-out metric, ideal speedup over BERT on real lengths)], per seed}.
        sizes, sweep: as `choice_row` takes them.
    """
    medians = {value: tuple(map(statistics.median, zip(*seeds))) for value, seeds in runs.items()}
    chosen, within = choose(bert[0], medians)
    rows = [choice_row(task, value, seeds, bert, value == chosen, within, sizes, sweep)
            for value, seeds in sorted(runs.items())]
    next(row for row in rows if row["chosen"] == "yes")["why"] += {
        "below": "; run smaller LAMBDAs too", None: "",
        "above": "; the grid's largest LAMBDA is within 1% as well: run larger LAMBDAs too"}[
        grid_goes_on(bert[0], medians)]
    return rows


def held_out_data(task, source, share, cap, folder):
    """Makes `folder`/data the task's copy to choose on: `share` of its training rows (of `cap`
    of them, drawn as benchmarks.paper_table draws them, where `cap` is not None) held out as
    its dev rows; returns its path."""
    from data.task_copies import held_out_folder, training_rows_capped

    os.makedirs(folder, exist_ok=True)
    training, _ = training_rows_capped(task, source, cap, folder)
    return held_out_folder(task, training, share, os.path.join(folder, "data"))


def choice_row(task, value, seeds, bert, chosen, within, sizes, sweep):
    """The CSV row of one LAMBDA, as text: metrics in percent, and why it was chosen or not.

    Args:
        task, value: the `Task` and the LAMBDA.
        seeds: [(held-out metric, ideal speedup over BERT on real lengths)], one per seed.
        bert: the held-out metric of the rule's BERT (at an equal budget) and of step 1.
        chosen, within: whether `choose` chose this LAMBDA; whether what it chose is within 1%.
        sizes: (training rows, held-out rows).
        sweep: the benchmarks.tradeoff folder of the runs.
    """
    metrics = [metric for metric, _ in seeds]
    median = statistics.median(metrics)
    ok = median >= lower_bound(bert[0])
    why = (("the fastest within 1% of BERT" if within else
            "none is within 1% of BERT: the smallest LAMBDA, flagged") if chosen else
           "within 1% of BERT, slower" if ok else "more than 1% below BERT")
    return {"task": task.name, "metric": task.metric, "lambda": f"{value:g}",
            "seeds": str(len(seeds)), "train_rows": str(sizes[0]), "heldout_rows": str(sizes[1]),
            "bert_heldout": f"{100 * bert[0]:.2f}", "step1_heldout": f"{100 * bert[1]:.2f}",
            "lower_bound": f"{100 * lower_bound(bert[0]):.2f}",
            "heldout_median": f"{100 * median:.2f}", "heldout_min": f"{100 * min(metrics):.2f}",
            "heldout_max": f"{100 * max(metrics):.2f}",
            "ideal_vs_real_median": f"{statistics.median(i for _, i in seeds):.2f}",
            "within_1pct": "yes" if ok else "no", "chosen": "yes" if chosen else "no",
            "why": why, "sweep": sweep}


def write_choice(path, rows):
    """Writes `rows` to the CSV at `path`, after the rows of other tasks it holds."""
    from atomic_files import write_atomically
    from benchmarks.paper_table_report import earlier_rows
    from benchmarks.tradeoff_report import csv_text

    tasks = {row["task"] for row in rows}
    kept = [row for row in earlier_rows(path, COLUMNS) if row["task"] not in tasks]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomically(path, csv_text(COLUMNS, kept + rows))


def main(argv=None):
    """Chooses the LAMBDA; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags={"data_dir": "--data-dir", "task": "--task"},
                     after_interrupt=lambda: "finished runs are kept; run the same command "
                                             "again to go on")


if __name__ == "__main__":
    sys.exit(main())
