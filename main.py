"""PoWER-BERT: train (fine-tune, configuration search, re-train), evaluate or predict.

The command line is the original PoWER-BERT's, flag for flag (see command_line.py and
README.md). A run checks every input first, resolving the flags into one RunConfig
(runs/run_config.py), and only then writes into OUTPUT_DIR (runs/run.py).
"""

import contextlib
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

from command_line import parse_args  # noqa: E402
from data.predictions import PREDICTIONS  # noqa: E402
from errors import (ORIGINAL_FLAGS, UserError, error_line, exit_code,  # noqa: E402
                    import_tensorflow_quietly)


def run(args):
    """Trains, evaluates or predicts, as the flags say.

    Under `--DISTRIBUTE multi_worker` every worker runs all of this, and all but the chief
    write into a temporary folder that is removed at the end.

    Args:
        args: the flags, from `command_line.parse_args`.
    """
    # Imported here so that `--help` and flag errors answer before TensorFlow loads.
    import_tensorflow_quietly()
    import tensorflow as tf
    from runs.output_dir import check_output_dir
    from runs.run import evaluate, files_replaced, predict, train
    from runs.run_config import resolve_flags
    from training.distribute import is_chief, make_strategy
    from training.log import warnings_and_error_into_log

    strategy = make_strategy(args.DISTRIBUTE)  # first: collective ops are set up at start-up
    try:
        # `held`: what lasts to the end of the run, however it ends: warnings and the error
        # that stops it going into the log, the OUTPUT_DIR lock that the run takes once its
        # inputs are checked, and a worker's temporary folder.
        with contextlib.ExitStack() as held:
            held.enter_context(warnings_and_error_into_log(lambda error: error_line(
                error, ORIGINAL_FLAGS, lambda: _after_interrupt(args))))
            output_dir = args.OUTPUT_DIR if is_chief(strategy) else held.enter_context(
                tempfile.TemporaryDirectory(prefix="power-bert-worker-"))
            config = resolve_flags(args, output_dir)
            check_output_dir(config.output_dir, files_replaced(config))
            {"train": train, "evaluate": evaluate, "predict": predict}[config.mode](
                config, strategy, held)
    except (tf.errors.UnavailableError, tf.errors.CancelledError) as error:
        if args.DISTRIBUTE != "multi_worker":
            raise
        # Raised in every worker's collective ops when one of them has stopped.
        raise UserError(f"another worker of this multi_worker run stopped or cannot be reached "
                        f"({type(error).__name__}); see its error, then start all workers "
                        "again") from None


def _after_interrupt(args):
    """What an interrupted run leaves and how to go on, by mode (`args` None: not yet parsed)."""
    if args is not None and args.EVAL_ONLY:
        return "the dev set was not scored; run the command again"
    if args is not None and args.PREDICT_ONLY:
        return (f"no {PREDICTIONS} was written (an earlier one is kept as it was); run the "
                "command again")
    return ("files already complete in OUTPUT_DIR are kept, and the last finished epoch "
            "(finish a training run with --RESUME)")


def main(argv=None):
    """Runs main.py with `argv` (default: the command line); returns the exit status.

    0: done; 2: a user error (one line on stderr); 130: interrupted by Ctrl-C or SIGTERM.
    """
    parsed = []

    def parse_and_run():
        parsed.append(parse_args(sys.argv[1:] if argv is None else argv))
        run(parsed[0])

    return exit_code(parse_and_run, flags=ORIGINAL_FLAGS,
                     after_interrupt=lambda: _after_interrupt(parsed[0] if parsed else None))


if __name__ == "__main__":
    sys.exit(main())
