"""main.py's command line: the original PoWER-BERT's flags, flag for flag, and their checks.

Only the flags are checked here, before TensorFlow loads; the files they name are checked
when the run configuration is resolved (runs/run_config.py).
"""

import argparse
import math

from errors import UserError

PATH_FLAGS = ("BERT_CONFIG_PATH", "CHECKPOINT_PATH", "VOCAB_PATH", "DATA_DIR", "OUTPUT_DIR",
              "TASK_CONFIG_PATH")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{message}; see python main.py --help")


def parse_args(argv):
    """The flags of `argv` (main.py's arguments), checked one by one and against each other.

    Args:
        argv: the arguments, without the program name.

    Returns:
        The argparse namespace, never changed afterwards: runs/run_config.py resolves it
        into a RunConfig.
    """
    p = _Parser(prog="python main.py",
                description="PoWER-BERT: train (fine-tune, configuration search, re-train), "
                            "evaluate or predict.")
    p.add_argument("--TASK", required=True,
                   help="cola, rte, sst-2, qnli, mrpc, mnli-m, mnli-mm, qqp or sts-b")
    p.add_argument("--BERT_CONFIG_PATH", help="bert_config.json (default: the embedded MiniLM)")
    p.add_argument("--CHECKPOINT_PATH",
                   help="Google checkpoint prefix (bert_model.ckpt) or .hdf5 file "
                        "(default: the embedded MiniLM)")
    p.add_argument("--VOCAB_PATH", help="WordPiece vocab.txt, or SentencePiece .model for ALBERT")
    p.add_argument("--CASED", action="store_true", help="the model is cased")
    p.add_argument("--DATA_DIR", required=True, help="folder with the task's GLUE .tsv files")
    p.add_argument("--OUTPUT_DIR", required=True, help="models, predictions and log_file.txt")
    p.add_argument("--TASK_CONFIG_PATH", help="JSON overriding the task's seq_len")
    p.add_argument("--EPOCH", type=int,
                   help="epochs of steps 1-3 (default: 3, the original's; the embedded MiniLM's "
                        "own for a task that has one)")
    p.add_argument("--RETRAIN_EPOCH", type=int,
                   help="epochs of step 3, re-training, where they should differ from EPOCH "
                        "(default: EPOCH)")
    p.add_argument("--BATCH_SIZE", type=int,
                   help="default: the task's, from the original README, or the embedded "
                        "MiniLM's own for a task that has one")
    p.add_argument("--LR_SOFT_EXTRACT", type=float, help="learning rate of retention parameters")
    p.add_argument("--LR_BERT", type=float, help="learning rate of the other weights")
    p.add_argument("--LAMBDA", type=float, help="mass penalty: accuracy against speed")
    p.add_argument("--EVAL_ONLY", action="store_true", help="score dev.tsv")
    p.add_argument("--PREDICT_ONLY", action="store_true", help="predict test.tsv")
    p.add_argument("--PRED_GLUE", action="store_true",
                   help="with --PREDICT_ONLY, also write the GLUE server's file")
    p.add_argument("--MODEL_FORMAT", type=str.upper, choices=("CKPT", "HDF5"),
                   help="format of --CHECKPOINT_PATH (default: HDF5 for .hdf5/.h5, else CKPT)")
    p.add_argument("--RETENTION_CONFIG",
                   help="word vectors kept per block, e.g. 128,128,64,64,32,32 (eval/predict; "
                        "default: the configuration an .hdf5 of ours records, else all)")
    p.add_argument("--DISTRIBUTE", choices=("none", "mirrored", "multi_worker"), default="none",
                   help="tf.distribute strategy: none (one device), mirrored (all local GPUs) "
                        "or multi_worker (the workers in TF_CONFIG; the chief writes the "
                        "outputs); BATCH_SIZE is the global batch")
    p.add_argument("--PADDING", choices=("batch", "seq_len"),
                   help="batch: pad each batch to its longest input, only real words vote in "
                        "the significance score; seq_len: pad every input to seq_len, padding "
                        "votes (the original PoWER-BERT). Default: batch, but seq_len for an "
                        ".hdf5 file that the original wrote")
    p.add_argument("--GROUP_BY_LENGTH", action="store_true",
                   help="training: batch rows of similar length together (batches shuffled), "
                        "as Hugging Face's group_by_length; less padding, faster steps")
    p.add_argument("--RETENTION_MODE", choices=("absolute", "relative"),
                   help="absolute: l_j word vectors per block (the original); relative: a "
                        "share f_j in (0, 1] of each input's own length, e.g. "
                        "--RETENTION_CONFIG 0.9,0.7,0.5,0.3,0.2,0.1. Default: absolute, or "
                        "what an .hdf5 file of this project was trained with")
    p.add_argument("--SEED", type=int, default=0,
                   help="seed of the order of the training rows, of new layers' initial weights "
                        "and of dropout: the same command with the same seed trains the same "
                        "weights (default 0)")
    p.add_argument("--DISTILL", nargs="?", type=float, const=None, default=0.0,
                   metavar="ALPHA",
                   help="configuration search and re-training learn from the fine-tuned BERT "
                        "too: the loss is (1 - ALPHA) x the task loss + ALPHA x T^2 x "
                        "KL(teacher || student) at temperature T. Alone: the one ALPHA "
                        "measured, on MRPC (README); not given, or 0: the original's loss")
    p.add_argument("--TEMPERATURE", type=float, metavar="T",
                   help="temperature of --DISTILL (default: the one T measured, on MRPC)")
    p.add_argument("--MASS_PENALTY", choices=("paper", "flops"),
                   help="configuration search: block j's mass is weighted by j in the penalty "
                        "(paper, the default), or by the FLOPs a word it keeps costs (flops: "
                        "every block but the last about alike), LAMBDA on about the same scale")
    p.add_argument("--RESUME", action="store_true",
                   help="continue the interrupted training run in OUTPUT_DIR, given the same "
                        "arguments: steps already complete are skipped")
    args = p.parse_args(argv)
    _check_combinations(args)
    for flag in ("EPOCH", "RETRAIN_EPOCH", "BATCH_SIZE"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be a positive integer")
    if not 0 <= args.SEED < 2 ** 32:  # NumPy's seeds, which Keras seeds too
        raise UserError(f"--SEED must be an integer from 0 to {2 ** 32 - 1}, not {args.SEED}")
    if args.DISTILL is not None and not 0 <= args.DISTILL <= 1:
        raise UserError(f"--DISTILL {args.DISTILL} is not an ALPHA from 0 to 1 (the teacher's "
                        "weight in the loss); give one, or --DISTILL alone for the default")
    if args.TEMPERATURE is not None and not (math.isfinite(args.TEMPERATURE)
                                             and args.TEMPERATURE > 0):
        raise UserError(f"--TEMPERATURE must be a finite number > 0, not {args.TEMPERATURE}")
    for flag in ("LR_SOFT_EXTRACT", "LR_BERT", "LAMBDA"):
        value = getattr(args, flag)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UserError(f"--{flag} must be a finite number >= 0, not {value}")
    _check_path_flags(args)
    return args


def _check_combinations(args):
    """Flags that exclude or need each other; the first conflict found is the error."""
    inference = args.EVAL_ONLY or args.PREDICT_ONLY
    conflicts = [
        (args.EVAL_ONLY and args.PREDICT_ONLY,
         "--EVAL_ONLY and --PREDICT_ONLY exclude each other: run them one at a time"),
        (args.PRED_GLUE and not args.PREDICT_ONLY, "--PRED_GLUE needs --PREDICT_ONLY"),
        (args.GROUP_BY_LENGTH and inference,
         "--GROUP_BY_LENGTH shapes training batches; --EVAL_ONLY and --PREDICT_ONLY group rows "
         "by length anyway: drop it"),
        (args.GROUP_BY_LENGTH and args.PADDING == "seq_len",
         "--GROUP_BY_LENGTH saves padding, but --PADDING seq_len pads every input to seq_len: "
         "drop one of them"),
        (args.DISTILL != 0 and inference,
         "--DISTILL shapes training; drop it with --EVAL_ONLY or --PREDICT_ONLY"),
        (args.RETRAIN_EPOCH is not None and inference,
         "--RETRAIN_EPOCH is the length of re-training; drop it with --EVAL_ONLY or "
         "--PREDICT_ONLY"),
        (args.MASS_PENALTY is not None and inference,
         "--MASS_PENALTY shapes the configuration search; drop it with --EVAL_ONLY or "
         "--PREDICT_ONLY"),
        (args.TEMPERATURE is not None and args.DISTILL == 0,
         "--TEMPERATURE is the temperature of --DISTILL: give --DISTILL too, or drop it"),
        (args.RESUME and inference,
         "--RESUME continues a training run; drop it with --EVAL_ONLY or --PREDICT_ONLY"),
        # The other workers keep their files in temporary folders, so they cannot resume.
        (args.RESUME and args.DISTRIBUTE == "multi_worker",
         "--RESUME is not available with --DISTRIBUTE multi_worker: resume with --DISTRIBUTE "
         "none or mirrored, or start a new run"),
    ]
    for conflict, message in conflicts:
        if conflict:
            raise UserError(message)


def _check_path_flags(args):
    """An empty path is what "$UNSET_VARIABLE" gives: an error, never "flag not given"."""
    for flag in PATH_FLAGS:
        value = getattr(args, flag)
        if value is not None and not value.strip():
            optional = flag not in ("DATA_DIR", "OUTPUT_DIR")
            raise UserError(f"--{flag} is empty (an unset shell variable?); give a path"
                            + (" or leave the flag out" if optional else ""))
