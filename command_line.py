"""main.py's command line: the original PoWER-BERT's flags, flag for flag, and their checks.

Only the flags are checked here, before TensorFlow loads; the files they name are checked
when the run configuration is resolved (runs/run_config.py). The task's and the model's
flags are declared in runs/model_flags.py, which `python -m deploy.export` takes too.
"""

import math

from errors import UserError
from runs.model_flags import MODEL_PATH_FLAGS, Parser, add_model_flags, check_path_flags


def parse_args(argv):
    """The flags of `argv` (main.py's arguments), checked one by one and against each other.

    Args:
        argv: the arguments, without the program name.

    Returns:
        The argparse namespace, never changed afterwards: runs/run_config.py resolves it
        into a RunConfig.
    """
    p = Parser(prog="python main.py",
                description="PoWER-BERT: train (fine-tune, configuration search, re-train), "
                            "evaluate or predict.")
    add_model_flags(p)
    p.add_argument("--DATA_DIR", required=True, help="folder with the task's GLUE .tsv files")
    p.add_argument("--OUTPUT_DIR", required=True, help="models, predictions and log_file.txt")
    p.add_argument("--EPOCH", type=int,
                   help="epochs of steps 1-3 (default: 3, the original's; the embedded MiniLM's "
                        "own for a task that has one)")
    p.add_argument("--SEARCH_EPOCH", type=int,
                   help="epochs of step 2, the configuration search, where they should differ "
                        "from EPOCH (default: EPOCH; the embedded MiniLM's own for a task that "
                        "has one, when EPOCH is not given either)")
    p.add_argument("--RETRAIN_EPOCH", type=int,
                   help="epochs of step 3, re-training, where they should differ from EPOCH "
                        "(default: EPOCH; the embedded MiniLM's own for a task that has one, "
                        "when EPOCH is not given either)")
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
    p.add_argument("--DISTRIBUTE", choices=("none", "mirrored", "multi_worker"), default="none",
                   help="tf.distribute strategy: none (one device), mirrored (all local GPUs) "
                        "or multi_worker (the workers in TF_CONFIG; the chief writes the "
                        "outputs); BATCH_SIZE is the global batch")
    p.add_argument("--GROUP_BY_LENGTH", action="store_true",
                   help="training: batch rows of similar length together (batches shuffled), "
                        "as Hugging Face's group_by_length; less padding, faster steps")
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
                        "arguments: steps already complete are skipped, the interrupted one "
                        "goes on from its last finished epoch")
    args = p.parse_args(argv)
    _check_combinations(args)
    for flag in ("EPOCH", "SEARCH_EPOCH", "RETRAIN_EPOCH", "BATCH_SIZE"):
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
    check_path_flags(args, MODEL_PATH_FLAGS + ("DATA_DIR", "OUTPUT_DIR"),
                     required=("DATA_DIR", "OUTPUT_DIR"))
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
        *((getattr(args, flag) is not None and inference,
           f"--{flag} is the length of {step}; drop it with --EVAL_ONLY or --PREDICT_ONLY")
          for flag, step in (("SEARCH_EPOCH", "the configuration search"),
                             ("RETRAIN_EPOCH", "re-training"))),
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

