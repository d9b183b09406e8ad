"""`benchmarks.paper_table`'s cells, each a training run in a fresh process, and its timing.

A cell is finished once its progress.json records every step of its kind (`runs.recorded_run`),
and is then only read. What reads the records loads TensorFlow: imported where used, so that
a flag error answers at once.
"""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from atomic_files import write_atomically
from benchmarks.timing import interleaved
from errors import UserError
from text_files import read_text
from training.log import LOG_FILE

REPO = Path(__file__).resolve().parents[1]
POWER_BERT, BERT = "PoWER-BERT", "BERT"
TIMING_BATCH, TIMING_THREADS = 64, 2
# main.py's flags that the table passes on: the model's to every run, the training ones to
# the training runs; a BERT cell takes no epochs (its own are PoWER-BERT's in all) and
# nothing that only steps 2 and 3 read.
MODEL_FLAGS = ("--BERT_CONFIG_PATH", "--VOCAB_PATH", "--CASED", "--TASK_CONFIG_PATH")
TRAINING_FLAGS = ("--CHECKPOINT_PATH", "--MODEL_FORMAT", "--BATCH_SIZE", "--LR_BERT")
SEARCH_FLAGS = ("--EPOCH", "--SEARCH_EPOCH", "--RETRAIN_EPOCH", "--LR_SOFT_EXTRACT", "--LAMBDA",
                "--DISTILL", "--TEMPERATURE", "--MASS_PENALTY")
PASSED_ON = MODEL_FLAGS + TRAINING_FLAGS + SEARCH_FLAGS
_PREDICTED = re.compile(r"Predicted \d+ rows in ([0-9.]+) s")


def main_flags(argv):
    """main.py's flags given to the table, as {flag: its words}, in the order given.

    Raises:
        UserError: a flag that is not one of PASSED_ON (given by its full name), or a word
            before any flag.
    """
    flags, flag = {}, None
    for word in argv:
        if word.startswith("--"):
            flag = word.split("=", 1)[0]
            if flag not in PASSED_ON:
                raise UserError(f"{flag} is not a flag of the table, nor one of main.py's that "
                                f"it passes on ({', '.join(PASSED_ON)}); see --help")
            flags[flag] = [word]
        elif flag is None:
            raise UserError(f"unexpected argument {word!r}; see --help")
        else:
            flags[flag].append(word)
    return flags


def picked(flags, names):
    """The words of the flags of `flags` (from `main_flags`) named in `names`."""
    return [word for name in names for word in flags.get(name, [])]


@dataclasses.dataclass(frozen=True)
class Cell:
    """One training run of the table: `kind` (POWER_BERT or BERT) of `task` at `seed`."""

    task: object
    seed: int
    kind: str
    folder: str

    def recorded(self):
        """Its run, as its progress.json records it now (`runs.recorded_run`)."""
        from runs.recorded_run import RecordedRun

        return RecordedRun(self.folder, steps=3 if self.kind == POWER_BERT else 1)

    @property
    def checkpoint(self):
        return os.path.join(self.folder, self.recorded().step_outputs[-1][1])

    def metric(self):
        """The dev metric of its last step's best epoch, in percent (the task's GLUE metric)."""
        return 100 * self.recorded().results()[self.task.metric]

    def changed_since(self, data_dir, flags, epochs=None):
        """How its recorded training arguments differ from those its `command` would record
        now (`training.progress.changed_arguments`): flags or a task default changed since."""
        from runs.run_config import resolve_flags
        from training.progress import changed_arguments

        argv = self.command(data_dir, flags, epochs)
        if self.kind == POWER_BERT:
            from command_line import parse_args

            args = parse_args(argv[2:])
            config = resolve_flags(args, args.OUTPUT_DIR)
        else:
            from benchmarks.equal_budget_bert import parse_args
            from runs.fine_tune_alone import step1_config

            config = step1_config(parse_args(argv[3:]))
        return changed_arguments(self.recorded().arguments, config.training_arguments())

    def command(self, data_dir, flags, epochs=None):
        """The command line that trains it (resumes it, once its progress.json exists), on
        `data_dir` with main.py's `flags` (from `main_flags`); a BERT cell for `epochs`."""
        from training.progress import PROGRESS

        resume = ["--RESUME"] if os.path.exists(os.path.join(self.folder, PROGRESS)) else []
        common = ["--TASK", self.task.name, "--DATA_DIR", data_dir, "--OUTPUT_DIR", self.folder,
                  "--GROUP_BY_LENGTH", "--SEED", str(self.seed), *resume]
        if self.kind == POWER_BERT:
            return [sys.executable, str(REPO / "main.py"), *common, "--RETENTION_MODE",
                    "relative", *picked(flags, PASSED_ON)]
        return [sys.executable, "-m", "benchmarks.equal_budget_bert", *common,
                "--EPOCH", str(epochs), *picked(flags, MODEL_FLAGS + TRAINING_FLAGS)]


def run_process(argv, console, env=None):
    """Runs `argv` in a fresh process, its output appended to the file `console`.

    Raises:
        UserError: it failed; the message holds its last line on stderr.
    """
    with open(console, "a", encoding="utf-8") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, text=True,
                                   env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                       filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                                        **(env or {})})
        try:
            _, error = process.communicate()
        except BaseException:  # Ctrl-C reaches the run too; SIGTERM to the table alone does not
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait()
            raise
        out.write(error)
    if process.returncode:
        last = (error.strip().splitlines() or ["no message"])[-1]
        raise UserError(f"{Path(argv[1]).name if argv[1] != '-m' else argv[2]} stopped (exit "
                        f"{process.returncode}): {last}; its output is in {console}")


def time_end_to_end(task, checkpoints, data_dir, folder, rounds, flags, say):
    """Times `main.py --PREDICT_ONLY` of each checkpoint, alternated in fresh processes: the
    time of its log's "Predicted ..." line (the first batch, tracing the model, included).

    Args:
        task: the `Task`.
        checkpoints: {label: .hdf5 file}.
        data_dir: a folder holding test.tsv (`data.task_copies.dev_as_test_folder`).
        folder: a folder per run goes there, and timing.json, whose times are taken while
            the checkpoints (path and modification time) and the rounds are the same.
        rounds: runs of each checkpoint, the order rotated by one each round.
        flags: main.py's flags to pass on, from `main_flags` (the model's are).
        say: function(line) for progress.

    Returns:
        {label: [seconds of each round]}.
    """
    os.makedirs(folder, exist_ok=True)
    record_path = os.path.join(folder, "timing.json")
    key = {"checkpoints": {label: [path, os.stat(path).st_mtime_ns]
                           for label, path in checkpoints.items()},
           "rounds": rounds, "batch": TIMING_BATCH, "threads": TIMING_THREADS}
    if os.path.exists(record_path):
        record = json.loads(read_text(record_path, "timing record", "delete it"))
        if {name: record.get(name) for name in key} == key:
            say(f"{task.name}: end-to-end timing done already ({record_path})")
            return record["seconds"]
    threads = {name: str(TIMING_THREADS) for name in ("TF_NUM_INTRAOP_THREADS",
                                                      "TF_NUM_INTEROP_THREADS")}
    seconds = {label: [] for label in checkpoints}
    for i, label in enumerate(interleaved(list(checkpoints), rounds)):
        out = os.path.join(folder, f"{label}_round_{i // len(checkpoints) + 1}")
        say(f"{task.name}: timing {label} --PREDICT_ONLY, round {i // len(checkpoints) + 1} "
            f"of {rounds}, in {out}")
        shutil.rmtree(out, ignore_errors=True)  # an interrupted timing's
        run_process([sys.executable, str(REPO / "main.py"), "--TASK", task.name, "--DATA_DIR",
                     data_dir, "--OUTPUT_DIR", out, "--CHECKPOINT_PATH", checkpoints[label],
                     "--MODEL_FORMAT", "HDF5", "--BATCH_SIZE", str(TIMING_BATCH),
                     "--PREDICT_ONLY", *picked(flags, MODEL_FLAGS)], f"{out}.out", threads)
        seconds[label].append(predicted_seconds(os.path.join(out, LOG_FILE)))
    write_atomically(record_path, json.dumps({**key, "seconds": seconds}, indent=1) + "\n")
    return seconds


def predicted_seconds(log_path):
    """The seconds of the last "Predicted ... rows in ... s" line of a --PREDICT_ONLY log."""
    found = _PREDICTED.findall(read_text(log_path, "run log", "run the table again"))
    if not found:
        raise UserError(f"{log_path} has no \"Predicted ... rows in ... s\" line; delete its "
                        "folder and run the table again")
    return float(found[-1])
