"""BERT at an equal budget: PoWER-BERT's step 1 alone, for as many epochs as PoWER-BERT has in
steps 1 to 3, its best dev epoch kept (`benchmarks.paper_table`'s BERT). The flags are main.py's
that step 1 reads, with their meaning there (`runs.fine_tune_alone`).

    python -m benchmarks.equal_budget_bert --TASK mrpc --DATA_DIR ../shared/glue/MRPC \
        --OUTPUT_DIR /tmp/bert_mrpc --EPOCH 15 --GROUP_BY_LENGTH --SEED 0
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from errors import (ORIGINAL_FLAGS, OneLineParser, UserError, exit_code,  # noqa: E402
                    import_tensorflow_quietly)


def parse_args(argv):
    """The flags of `argv`, main.py's that step 1 reads."""
    p = OneLineParser(prog="python -m benchmarks.equal_budget_bert",
                      description=__doc__.splitlines()[0])
    for flag in ("--TASK", "--DATA_DIR", "--OUTPUT_DIR"):
        p.add_argument(flag, required=True)
    p.add_argument("--EPOCH", type=int, required=True,
                   help="epochs: PoWER-BERT's in steps 1 to 3 together")
    for flag in ("--BERT_CONFIG_PATH", "--CHECKPOINT_PATH", "--VOCAB_PATH", "--TASK_CONFIG_PATH"):
        p.add_argument(flag, help="as main.py's")
    p.add_argument("--MODEL_FORMAT", type=str.upper, choices=("CKPT", "HDF5"))
    p.add_argument("--BATCH_SIZE", type=int)
    p.add_argument("--LR_BERT", type=float)
    p.add_argument("--SEED", type=int, default=0)
    for flag in ("--CASED", "--GROUP_BY_LENGTH", "--RESUME"):
        p.add_argument(flag, action="store_true")
    args = p.parse_args(argv)
    for flag in ("EPOCH", "BATCH_SIZE"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be a positive integer")
    return args


def run(args):
    """Fine-tunes BERT for --EPOCH epochs into OUTPUT_DIR/finetune.hdf5 (its best dev epoch)."""
    import_tensorflow_quietly()
    from runs.fine_tune_alone import fine_tune_alone

    fine_tune_alone(args, "BERT at an equal budget")


def main(argv=None):
    """Runs it; returns the exit code (2 with one line on stderr for user errors)."""
    return exit_code(lambda: run(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags=ORIGINAL_FLAGS, after_interrupt=lambda: (
                         "no finetune.hdf5 was written; run again with --RESUME to go on from the "
                         "last finished epoch"))


if __name__ == "__main__":
    sys.exit(main())
