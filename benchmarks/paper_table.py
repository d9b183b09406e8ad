"""The paper's table on our BERT: each task's BERT and PoWER-BERT, dev metric over seeds and speed.

For each task and seed, two cells, each a run folder in --work-dir/<task>/ trained by a fresh
process: power_bert_seed_<s>, `main.py --RETENTION_MODE relative --GROUP_BY_LENGTH --SEED <s>`
(--RESUME once begun), and bert_seed_<s>, step 1 alone for as many epochs as that PoWER-BERT
had in steps 1 to 3 (`benchmarks.equal_budget_bert`). A finished cell (its progress.json says
so) is never run again: the same command goes on where a table stopped. One trained with
other arguments than the table gives it now (other flags, a task default changed since) is
refused, not reported. Then BERT and the median-seed PoWER-BERT (of two seeds, the lower) are
timed by `main.py --PREDICT_ONLY` on the dev rows as a GLUE test file
(`benchmarks.paper_table_cells.time_end_to_end`). After each task paper_table.csv and .md are
written to --out, keeping the rows of the other tasks there.
main.py's flags given besides the table's (--BERT_CONFIG_PATH, --EPOCH, ...) go to its runs.

    nohup python -m benchmarks.paper_table --max-train-rows 20000 > /tmp/paper_table.log 2>&1 &
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.paper_table_cells import (BERT, PASSED_ON, POWER_BERT, Cell,  # noqa: E402
                                          main_flags, run_process, time_end_to_end)
from benchmarks.paper_table_report import (TABLE_TASKS, median_seed, table_row,  # noqa: E402
                                           write_table)
from data.task_copies import CAP_SEED  # noqa: E402
from errors import (OneLineParser, UserError, comma_list, exit_code,  # noqa: E402
                    import_tensorflow_quietly)


def parse_args(argv):
    p = OneLineParser(prog="python -m benchmarks.paper_table", allow_abbrev=False,
                      description=__doc__.splitlines()[0],
                      epilog=f"main.py's flags passed on to its runs: {', '.join(PASSED_ON)}")
    p.add_argument("--tasks", default=",".join(TABLE_TASKS), help="comma-separated (default: all)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated (default 0,1,2)")
    p.add_argument("--glue-dir", default="../shared/glue", help="holds CoLA, RTE, MRPC, ...")
    p.add_argument("--imdb-dir", default="../shared/imdb")
    p.add_argument("--max-train-rows", type=int,
                   help=f"train on at most this many rows of a task, drawn with seed {CAP_SEED} "
                        "into a copy of train.tsv in --work-dir (default: all)")
    p.add_argument("--work-dir", default="output/paper_table", help="where the run folders go")
    p.add_argument("--out", default="benchmarks/results", help="where the table goes")
    p.add_argument("--rounds", type=int, default=3, help="end-to-end timing rounds (default 3)")
    args, rest = p.parse_known_args(argv)
    args.main_flags = main_flags(rest)
    args.tasks = comma_list("--tasks", args.tasks, str.lower)
    unknown = [name for name in args.tasks if name not in TABLE_TASKS]
    if unknown:
        raise UserError(f"--tasks: {unknown[0]!r} is not a task of the table; use some of "
                        f"{','.join(TABLE_TASKS)}")
    args.seeds = comma_list("--seeds", args.seeds, int)
    for flag in ("max_train_rows", "rounds"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag.replace('_', '-')} must be a positive integer")
    return args


def data_folder(args, task):
    """The task's folder: --glue-dir's folder of its GLUE name, or --imdb-dir."""
    if task.glue_file is None:
        flag, path = "--imdb-dir", args.imdb_dir
    else:
        flag, path = "--glue-dir", os.path.join(args.glue_dir, task.glue_file.removesuffix(".tsv"))
    if not os.path.isdir(path):
        raise UserError(f"{flag}: {path}, task {task.name}'s folder, is not a folder; give "
                        f"{flag} the folder that holds it (see ../shared/glue/README.md)")
    return path


class Progress:
    """Says what runs, how many of the `cells` are done, and the time to train the unfinished."""

    def __init__(self, cells):
        self.total, self.done, self.durations, self.started = len(cells), 0, [], time.monotonic()
        self.to_train = sum(not cell.recorded().complete() for cell in cells)

    def cell(self, cell, data_dir, flags, epochs=None):
        """Runs `cell` by its command (`Cell.command` of the same arguments) unless it is
        finished; a finished cell must have been trained as that command would train it."""
        name = f"{cell.task.name} seed {cell.seed} {cell.kind}"
        if cell.recorded().complete():
            changed = cell.changed_since(data_dir, flags, epochs)
            if changed:
                raise UserError(f"{name}: {cell.folder} was trained with other arguments than "
                                f"this table gives it ({'; '.join(changed)}); delete that folder, "
                                "or give --work-dir another one, and run the table again")
            self.done += 1
            self.say(f"{name}: done already ({cell.folder})")
            return
        self.say(f"{name}: training in {cell.folder}")
        started = time.monotonic()
        run_process(cell.command(data_dir, flags, epochs), f"{cell.folder}.out")
        self.durations.append(time.monotonic() - started)
        self.done, self.to_train = self.done + 1, self.to_train - 1
        self.say(f"{name}: finished in {_clock(self.durations[-1])}")

    def say(self, line):
        elapsed = time.monotonic() - self.started
        left = (f"about {_clock(statistics.mean(self.durations) * self.to_train)} "
                f"left (the mean of the {len(self.durations)} cell(s) trained so far; cells "
                "differ by task)" if self.durations else "time left known after a cell")
        print(f"[{self.done}/{self.total} cells, {_clock(elapsed)}, {left}] {line}", flush=True)


def _clock(seconds):
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def run(args):
    from data.task_copies import dev_as_test_folder, training_rows_capped
    from data.tasks import get_task

    import_tensorflow_quietly()  # reading the runs' records loads it
    tasks = [get_task(name) for name in args.tasks]
    sources = {task.name: data_folder(args, task) for task in tasks}  # all, before any run
    grid = {(task.name, seed): tuple(
        Cell(task, seed, kind, os.path.join(args.work_dir, task.name, f"{name}_seed_{seed}"))
        for kind, name in ((BERT, "bert"), (POWER_BERT, "power_bert")))
        for task in tasks for seed in args.seeds}
    progress = Progress([cell for pair in grid.values() for cell in pair])
    rows = []
    for task in tasks:
        folder = os.path.join(args.work_dir, task.name)
        os.makedirs(folder, exist_ok=True)
        data_dir, train_rows = training_rows_capped(task, sources[task.name],
                                                    args.max_train_rows, folder)
        cells = {seed: grid[task.name, seed] for seed in args.seeds}
        for bert, power in cells.values():
            progress.cell(power, data_dir, args.main_flags)
            progress.cell(bert, data_dir, args.main_flags, power.recorded().epochs())
        median = median_seed(cells)
        timing = os.path.join(folder, "timing")
        seconds = time_end_to_end(
            task, {BERT: cells[median][0].checkpoint, POWER_BERT: cells[median][1].checkpoint},
            dev_as_test_folder(task, sources[task.name], os.path.join(folder, "timing_data")),
            timing, args.rounds, args.main_flags, progress.say)
        rows.append(table_row(task, cells, median, train_rows, seconds, timing))
        for path in write_table(args.out, rows):
            progress.say(f"Wrote {path}")


def main(argv=None):
    """Makes the table; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     after_interrupt=lambda: "finished cells are kept; run the same command "
                                             "again to go on")


if __name__ == "__main__":
    sys.exit(main())
