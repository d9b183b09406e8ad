"""The run's record for --RESUME in OUTPUT_DIR: `progress.json`.

It holds the training arguments and the steps finished; it is rewritten whole under a
temporary name and renamed, so it is always either the old or the new record.
"""

import json
import os

from atomic_files import write_atomically
from checkpoints.hdf5 import read_hdf5_metadata
from errors import UserError
from text_files import read_text

PROGRESS = "progress.json"


class RunProgress:
    """`OUTPUT_DIR/progress.json`: `{"arguments": {...}, "steps": {step: results}}`.

    A step counts as finished when it is recorded here and its output file exists; a step
    recorded again forgets the later steps, since they were built on its old output.

    Args:
        output_dir: the run's OUTPUT_DIR.
    """

    def __init__(self, output_dir):
        self.output_dir = output_dir
        self.path = os.path.join(output_dir, PROGRESS)
        self.record = read_progress(output_dir) or {"arguments": None, "steps": {}}

    @property
    def arguments(self):
        return self.record["arguments"]

    def start(self, arguments):
        """Begins a new run: records its arguments, no step finished yet.

        Args:
            arguments: the training-relevant arguments (a JSON-able dict).
        """
        self.record = {"arguments": arguments, "steps": {}}
        self._write()

    def finished(self, step, output_file):
        """The recorded results of `step` if it finished and `output_file` is still there.

        Args:
            step: the step's name, e.g. "fine-tuning".
            output_file: its output's file name in OUTPUT_DIR.
        """
        if os.path.isfile(os.path.join(self.output_dir, output_file)):
            return self.record["steps"].get(step)
        return None

    def finish(self, step, results):
        """Records that `step` finished, with its results; later steps are forgotten.

        Args:
            step: the step's name.
            results: what later steps or the user need from it (JSON-able).
        """
        steps = {}
        for name, recorded in self.record["steps"].items():
            if name == step:
                break
            steps[name] = recorded
        steps[step] = results
        self.record["steps"] = steps
        self._write()

    def _write(self):
        write_atomically(self.path, json.dumps(self.record, indent=1) + "\n")


def step_once(output_dir, arguments, step, output_file, run, log):
    """A step's results, run once: those `output_dir`'s progress.json records for `step` of a
    run of the same `arguments` (its output file there), logged as done already; else
    `run()`'s, recorded there (and the record of other arguments started over). So a job of
    many runs (benchmarks.tradeoff) goes on where it stopped.

    Args:
        output_dir: the run's folder.
        arguments: what the step's results depend on (a JSON-able dict of JSON's own types,
            so that it compares equal to itself read back).
        step, output_file: the step's name and its output's file name, as in
            `training.steps.STEP_OUTPUTS`.
        run: function() that runs the step and returns its JSON-able results.
        log: function(line) of the run's log.
    """
    progress = RunProgress(output_dir)
    if progress.arguments == arguments:
        results = progress.finished(step, output_file)
        if results is not None:
            log(f"{step} in {output_dir}: done already (its progress.json records it), "
                f"results {results}")
            return results
    else:
        progress.start(arguments)
    results = run()
    progress.finish(step, results)
    return results


def epoch_state_file(output_file):
    """The name of a step's state after its last finished epoch (`training.epoch_state`),
    beside its output: "finetune.hdf5" -> "finetune.epoch_state.npz"."""
    return os.path.splitext(output_file)[0] + ".epoch_state.npz"


def changed_arguments(then, now):
    """What differs between a run's recorded training arguments and another's: a list of
    "KEY <then> then, <now> now", empty when they are the same."""
    return [f"{key} {then.get(key)} then, {now.get(key)} now"
            for key in sorted(set(then) | set(now)) if then.get(key) != now.get(key)]


def check_training_dir(output_dir, arguments, resume, step_outputs, results_problem):
    """A new run needs an OUTPUT_DIR free of our outputs; --RESUME needs a matching, unfinished
    one, whose record and finished steps' files are whole: each is read here, before the run
    writes anything, rather than by the step that needs it, after the log has begun.

    Args:
        output_dir: `--OUTPUT_DIR`.
        arguments: the training-relevant arguments of this run, as `RunProgress.start` records
            them.
        resume: `--RESUME` was given.
        step_outputs: (step name, output file) of each step, as `RunProgress.finished` takes.
        results_problem: function(step name, its recorded results) saying what in them does
            not fit this run, or None if they do.
    """
    if not resume:
        files = [file for _, file in step_outputs]
        found = [name for name in (PROGRESS, *files, *map(epoch_state_file, files))
                 if os.path.exists(os.path.join(output_dir, name))]
        if found:
            raise UserError(f"--OUTPUT_DIR {output_dir} already holds a training run "
                            f"({', '.join(found)}); use --RESUME or another OUTPUT_DIR")
        return
    progress = RunProgress(output_dir)
    if progress.arguments is None:
        raise UserError(f"--RESUME: --OUTPUT_DIR {output_dir} holds no training run to resume "
                        "(no progress.json); run without --RESUME to start one")
    names = [name for name, _ in step_outputs]
    unknown = [name for name in progress.record["steps"] if name not in names]
    if unknown:
        raise UserError(f"{progress.path} records a step {unknown[0]!r}, which this program "
                        f"does not have (its steps: {', '.join(names)}); {_START_OVER}")
    changed = changed_arguments(progress.arguments, arguments)
    if changed:
        raise UserError(f"--RESUME: the run in {output_dir} was started with other arguments "
                        f"({'; '.join(changed)}); resume with the same arguments, or use "
                        "another OUTPUT_DIR")
    for name, file in step_outputs:
        results = progress.finished(name, file)
        if results is None:
            continue
        redo = f"run again with --RESUME, which redoes that step ({name}) and those after it"
        problem = results_problem(name, results)
        if problem:
            raise UserError(f"{progress.path} does not fit this run: {problem}; delete "
                            f"{os.path.join(output_dir, file)} and {redo}")
        read_hdf5_metadata(os.path.join(output_dir, file), fix=f"delete it and {redo}")
    if all(progress.finished(name, file) is not None for name, file in step_outputs):
        raise UserError(f"--RESUME: the training run in {output_dir} is already complete; "
                        "nothing to resume")


# What to do about a progress.json that is not this program's record: the run it belonged to
# cannot be resumed.
_START_OVER = ("use another OUTPUT_DIR, or delete the run's files (progress.json and the "
               ".hdf5 files) to start over")


def read_progress(output_dir):
    """The record in `OUTPUT_DIR/progress.json`, or None if there is none.

    Args:
        output_dir: the run's OUTPUT_DIR.

    Raises:
        UserError: the file is there but is not a record this program wrote.
    """
    path = os.path.join(output_dir, PROGRESS)
    if not os.path.exists(path):
        return None
    text = read_text(path, "the progress record", _START_OVER)
    try:
        record = json.loads(text)
    except ValueError as error:
        raise UserError(f"{path} is unreadable ({error}); it records the training run in "
                        f"OUTPUT_DIR: {_START_OVER}") from None
    # "arguments" null: steps recorded by a caller of the steps that started no run's record
    # (`RunProgress.finish` before `start`); such a record is read, never resumed.
    if not (isinstance(record, dict) and isinstance(record.get("steps"), dict)
            and "arguments" in record and isinstance(record["arguments"], (dict, type(None)))):
        raise UserError(f"{path} is not a progress record of this program (an object of "
                        f"\"arguments\" and \"steps\"); {_START_OVER}")
    return record
