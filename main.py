"""PoWER-BERT: train (fine-tune, configuration search, re-train), evaluate or predict.

The command line is the original PoWER-BERT's, flag for flag; see README.md.
"""

import argparse
import contextlib
import fcntl
import glob
import math
import os
import re
import signal
import sys
import tempfile
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

from errors import UserError  # noqa: E402

PREDICTIONS = "prediction.txt"
_PATH_FLAGS = ("BERT_CONFIG_PATH", "CHECKPOINT_PATH", "VOCAB_PATH", "DATA_DIR", "OUTPUT_DIR",
               "TASK_CONFIG_PATH")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{message}; see python main.py --help")


def parse_args(argv):
    p = _Parser(prog="python main.py", description=__doc__.splitlines()[0])
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
    p.add_argument("--EPOCH", type=int, default=3, help="epochs of steps 1-3 (default 3)")
    p.add_argument("--BATCH_SIZE", type=int, help="default: the task's, from the original README")
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
                   help="seed of dropout and of new layers' initial weights: the same command "
                        "with the same seed trains the same weights (default 0)")
    p.add_argument("--RESUME", action="store_true",
                   help="continue the interrupted training run in OUTPUT_DIR, given the same "
                        "arguments: steps already complete are skipped")
    args = p.parse_args(argv)
    if args.EVAL_ONLY and args.PREDICT_ONLY:
        raise UserError("--EVAL_ONLY and --PREDICT_ONLY exclude each other: run them one at a "
                        "time")
    if args.PRED_GLUE and not args.PREDICT_ONLY:
        raise UserError("--PRED_GLUE needs --PREDICT_ONLY")
    if args.GROUP_BY_LENGTH and (args.EVAL_ONLY or args.PREDICT_ONLY):
        raise UserError("--GROUP_BY_LENGTH shapes training batches; --EVAL_ONLY and "
                        "--PREDICT_ONLY group rows by length anyway: drop it")
    if args.GROUP_BY_LENGTH and args.PADDING == "seq_len":
        raise UserError("--GROUP_BY_LENGTH saves padding, but --PADDING seq_len pads every "
                        "input to seq_len: drop one of them")
    if args.RESUME and (args.EVAL_ONLY or args.PREDICT_ONLY):
        raise UserError("--RESUME continues a training run; drop it with --EVAL_ONLY or "
                        "--PREDICT_ONLY")
    if args.RESUME and args.DISTRIBUTE == "multi_worker":
        # The other workers keep their files in temporary folders, so they cannot resume.
        raise UserError("--RESUME is not available with --DISTRIBUTE multi_worker: resume with "
                        "--DISTRIBUTE none or mirrored, or start a new run")
    for flag in ("EPOCH", "BATCH_SIZE"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UserError(f"--{flag} must be a positive integer")
    if not 0 <= args.SEED < 2 ** 32:  # NumPy's seeds, which Keras seeds too
        raise UserError(f"--SEED must be an integer from 0 to {2 ** 32 - 1}, not {args.SEED}")
    for flag in ("LR_SOFT_EXTRACT", "LR_BERT", "LAMBDA"):
        value = getattr(args, flag)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise UserError(f"--{flag} must be a finite number >= 0, not {value}")
    _check_path_flags(args)
    return args


def _check_path_flags(args):
    """An empty path is what "$UNSET_VARIABLE" gives: an error, never "flag not given"."""
    for flag in _PATH_FLAGS:
        value = getattr(args, flag)
        if value is not None and not value.strip():
            optional = flag not in ("DATA_DIR", "OUTPUT_DIR")
            raise UserError(f"--{flag} is empty (an unset shell variable?); give a path"
                            + (" or leave the flag out" if optional else ""))


def _import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up log (printed before any log setting applies)
    kept off stderr, so that an error is the one line a user sees there."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow as tf
        tf.config.list_physical_devices()  # looks for GPUs now, while stderr is quiet
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def run(args):
    """Checks every input, then trains, evaluates or predicts.

    Nothing is written to OUTPUT_DIR (not even the folder or a log line) until every path,
    flag, file and the checkpoint's fit to the model have been checked.

    Under `--DISTRIBUTE multi_worker` every worker runs all of this, and all but the chief
    write into a temporary folder that is removed at the end.
    """
    # Imported here so that `--help` and flag errors answer before TensorFlow loads.
    _import_tensorflow_quietly()
    import tensorflow as tf
    from training.distribute import is_chief, make_strategy
    from training.log import warnings_into_log

    strategy = make_strategy(args.DISTRIBUTE)  # first: collective ops are set up at start-up
    try:
        # `held`: what lasts to the end of the run, however it ends: warnings going into the
        # log, and the OUTPUT_DIR lock that _run takes once the inputs are checked.
        with contextlib.ExitStack() as held:
            held.enter_context(warnings_into_log())
            if is_chief(strategy):
                _run(args, strategy, held)
                return
            with tempfile.TemporaryDirectory(prefix="power-bert-worker-") as scratch:
                _run(argparse.Namespace(**{**vars(args), "OUTPUT_DIR": scratch}), strategy,
                     held)
    except (tf.errors.UnavailableError, tf.errors.CancelledError) as error:
        if args.DISTRIBUTE != "multi_worker":
            raise
        # Raised in every worker's collective ops when one of them has stopped.
        raise UserError(f"another worker of this multi_worker run stopped or cannot be reached "
                        f"({type(error).__name__}); see its error, then start all workers "
                        "again") from None


def _run(args, strategy, held):
    """`run`, with the tf.distribute strategy made; `held` is an ExitStack that `run` closes."""
    from checkpoints.default_model import ensure_default_model
    from checkpoints.load import guess_format, load_weights, resolve_retention
    from data.features import encode, encode_labels
    from data.predictions import write_glue_submission, write_predictions
    from data.tasks import get_task
    from modeling.bert import build_model
    from modeling.config import load_config
    from tokenization import load_tokenizer
    from training.evaluation import evaluate, format_metrics
    from training.log import RunLog, RunProgress
    from training.plots import plot_training_outputs
    from training.steps import RETRAINED, Hyperparameters, TaskData, train_power_bert

    task = get_task(args.TASK, args.TASK_CONFIG_PATH)
    _check_output_dir(args.OUTPUT_DIR, _files_replaced(args, task))
    if not (args.BERT_CONFIG_PATH and args.CHECKPOINT_PATH and args.VOCAB_PATH):
        default = ensure_default_model()
        args.BERT_CONFIG_PATH = args.BERT_CONFIG_PATH or default[0]
        args.CHECKPOINT_PATH = args.CHECKPOINT_PATH or default[1]
        args.VOCAB_PATH = args.VOCAB_PATH or default[2]
    config = load_config(args.BERT_CONFIG_PATH)
    tokenizer = load_tokenizer(args.VOCAB_PATH, cased=args.CASED)
    if tokenizer.vocab_size > config.vocab_size:
        raise UserError(f"--VOCAB_PATH {args.VOCAB_PATH} has {tokenizer.vocab_size} tokens but "
                        f"the model's vocab_size is {config.vocab_size}; give the vocab that "
                        "came with the checkpoint")
    model_format = args.MODEL_FORMAT or guess_format(args.CHECKPOINT_PATH)
    _check_checkpoint_path(args.CHECKPOINT_PATH, model_format)
    batch_size = args.BATCH_SIZE or task.batch_size
    notes = []
    padding = _padding(args, model_format, notes)
    mode = _retention_mode(args, model_format, padding, notes)
    if args.BATCH_SIZE is None:
        notes.append(f"BATCH_SIZE not given: using {batch_size}, the original's for {task.name}")

    if args.EVAL_ONLY or args.PREDICT_ONLY:
        retention, note = resolve_retention(args.RETENTION_CONFIG, args.CHECKPOINT_PATH,
                                            model_format, config.num_hidden_layers,
                                            task.seq_len,
                                            relative=mode == "relative")
        if note:
            notes.append(note)
        (examples,) = _read_splits(task, args.DATA_DIR, ["dev" if args.EVAL_ONLY else "test"],
                                   notes)
        with strategy.scope():
            model = build_model(config, task.seq_len, task.num_labels,
                                retention_configuration=retention,
                                padding_votes=padding == "seq_len", relative=mode == "relative")
            fresh = load_weights(model, args.CHECKPOINT_PATH, model_format, config,
                                 task.seq_len, optional=("NSP",))
        if fresh:
            raise UserError(f"the checkpoint {args.CHECKPOINT_PATH} has no classifier "
                            "(output_weights/NSP): evaluate a fine-tuned checkpoint or "
                            "retrained.hdf5")
        features = encode(examples, tokenizer, task.seq_len)
        held.enter_context(_locked_output_dir(args.OUTPUT_DIR, exclusive=False))
        log = RunLog(args.OUTPUT_DIR)
        _log_arguments(log, args, notes)
        log(f"Retention Configuration : {retention}")
        if args.EVAL_ONLY:
            metrics = evaluate(model, task, features, encode_labels(examples, task), batch_size,
                               padding, verbose=1)
            log(f"loss : {metrics['loss']}")
            if "accuracy" in metrics:
                log(f"accuracy : {100 * metrics['accuracy']}")
            log(f"dev metrics over all {len(examples)} examples: {format_metrics(metrics)}")
        else:
            outputs = _timed_predictions(model, features, batch_size, padding, log)
            path = os.path.join(args.OUTPUT_DIR, PREDICTIONS)
            write_predictions(path, outputs)
            log(f"Wrote {len(outputs)} predictions to {path}")
            if args.PRED_GLUE:
                path = os.path.join(args.OUTPUT_DIR, task.glue_file)
                write_glue_submission(path, task, examples, outputs)
                log(f"Wrote the GLUE submission file {path}")
        return

    if args.RETENTION_CONFIG is not None:
        raise UserError("--RETENTION_CONFIG is for --EVAL_ONLY/--PREDICT_ONLY; training finds "
                        "the configuration itself: drop the flag")
    hp = Hyperparameters(epochs=args.EPOCH, batch_size=batch_size,
                         lr_bert=_default(args, "LR_BERT", task.lr_bert, task, notes),
                         lr_soft_extract=_default(args, "LR_SOFT_EXTRACT", task.lr_soft_extract,
                                                  task, notes),
                         lambda_=_default(args, "LAMBDA", task.lambda_, task, notes),
                         padding=padding, group_by_length=args.GROUP_BY_LENGTH,
                         retention_mode=mode, seed=args.SEED)
    train, dev = _read_splits(task, args.DATA_DIR, ["train", "dev"], notes)
    optional_layers = ("NSP",)
    # Step 1 loads the checkpoint only once the run has begun: try it now, so that a
    # checkpoint that does not fit the config is reported before OUTPUT_DIR is touched.
    load_weights(build_model(config, task.seq_len, task.num_labels), args.CHECKPOINT_PATH,
                 model_format, config, task.seq_len, optional=optional_layers)
    arguments = _training_arguments(args, task, hp, model_format)
    _check_training_dir(args.OUTPUT_DIR, arguments, args.RESUME)
    held.enter_context(_locked_output_dir(args.OUTPUT_DIR, exclusive=True))
    # Again, now that no other run can start here: one may have started since the check above
    # (which refuses a folder in use by a finished or interrupted run without touching it).
    _check_training_dir(args.OUTPUT_DIR, arguments, args.RESUME)
    data = TaskData.from_examples(task, train, dev, tokenizer)

    def load_initial(model):
        fresh = load_weights(model, args.CHECKPOINT_PATH, model_format, config, task.seq_len,
                             optional=optional_layers)
        if fresh:
            log(f"Starting from {args.CHECKPOINT_PATH}; new layers: {', '.join(fresh)}")

    if not args.RESUME:
        RunProgress(args.OUTPUT_DIR).start(arguments)
    log = RunLog(args.OUTPUT_DIR)
    _log_arguments(log, args, notes)
    log(f"Training on {len(train)} examples, scoring on {len(dev)} dev examples; "
        f"seq_len {task.seq_len}, metric {task.metric}")
    try:
        _, retention, _ = train_power_bert(config, task, data, hp, args.OUTPUT_DIR,
                                           load_initial, log, strategy)
    except KeyboardInterrupt:
        log("Interrupted: the steps finished so far are kept; run the same command with "
            "--RESUME to finish")
        raise
    model = build_model(config, task.seq_len, task.num_labels, retention_configuration=retention,
                        padding_votes=hp.padding_votes, relative=hp.relative)
    load_weights(model, os.path.join(args.OUTPUT_DIR, RETRAINED), "HDF5", config, task.seq_len)
    for path in plot_training_outputs(args.OUTPUT_DIR, config, task, retention, model, data.dev,
                                      tokenizer, padding, relative=hp.relative):
        log(f"Wrote {path}")


def _timed_predictions(model, features, batch_size, padding, log):
    """Predicts every row; logs the time of the first batch (which traces the model) apart."""
    from training.evaluation import in_input_order, predict_batches

    started = time.perf_counter()
    batches = predict_batches(model, features, batch_size, padding, verbose=1)
    outputs = [next(batches)]
    first = time.perf_counter()
    outputs.extend(batches)
    done = time.perf_counter()
    rest = len(features) - len(outputs[0][0])
    log(f"Predicted {len(features)} rows in {done - started:.2f} s, batch {batch_size}, "
        f"padding {padding}: the first batch (tracing the model, then running it) "
        f"{first - started:.2f} s, the other {rest} rows {done - first:.2f} s "
        f"({rest / max(done - first, 1e-9):.1f} examples/s)")
    return in_input_order(outputs)


def _padding(args, model_format, notes):
    """`--PADDING`, or the checkpoint's (see `checkpoints.load.resolve_padding`)."""
    from checkpoints.load import resolve_padding

    padding, note = resolve_padding(args.PADDING, args.CHECKPOINT_PATH, model_format)
    notes.append(note)
    if args.GROUP_BY_LENGTH and padding == "seq_len":
        raise UserError(f"--GROUP_BY_LENGTH saves padding, but {args.CHECKPOINT_PATH} runs "
                        "with --PADDING seq_len: give --PADDING batch, or drop --GROUP_BY_LENGTH")
    return padding


def _check_output_dir(path, replaced):
    """OUTPUT_DIR must be a folder we can write in, or one we can create, with a log we can append
    to and no folder where the run will write a file.

    Args:
        path: `--OUTPUT_DIR`.
        replaced: the names of the files the run writes whole (renamed into place).
    """
    from training.log import LOG_FILE

    if os.path.exists(path) and not os.path.isdir(path):
        raise UserError(f"--OUTPUT_DIR {path} is a file, not a folder; give a folder")
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UserError(f"--OUTPUT_DIR {path} cannot be created: {existing} is a file; give a "
                        "folder path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--OUTPUT_DIR {path}: {existing} is not writable; give a folder you "
                        "can write in")
    log = os.path.join(path, LOG_FILE)
    if os.path.lexists(log) and not (os.path.isfile(log) and os.access(log, os.W_OK)):
        raise UserError(f"--OUTPUT_DIR {path}: its {LOG_FILE} cannot be appended to (it is "
                        f"{'a folder' if os.path.isdir(log) else 'not a writable file'}); "
                        "make it a writable file, or give another OUTPUT_DIR")
    for name in replaced:
        if os.path.isdir(os.path.join(path, name)):
            raise UserError(f"--OUTPUT_DIR {path} holds a folder named {name}, where the run "
                            "writes that file; move the folder, or give another OUTPUT_DIR")


def _files_replaced(args, task):
    """The files of OUTPUT_DIR the run writes whole (training's steps' outputs excepted: a new
    training run refuses a folder holding any of them, see `_check_training_dir`)."""
    from training.plots import RETENTION_PNG, SURVIVING_WORDS_PNG

    if args.PREDICT_ONLY:
        return [PREDICTIONS] + ([task.glue_file] if args.PRED_GLUE else [])
    return [] if args.EVAL_ONLY else [RETENTION_PNG, SURVIVING_WORDS_PNG]


@contextlib.contextmanager
def _locked_output_dir(path, exclusive):
    """Creates OUTPUT_DIR if need be and holds a lock on it for the block; UserError if taken.

    A training run holds it alone: two would append to one log and overwrite each other's
    .hdf5 files. --EVAL_ONLY and --PREDICT_ONLY share it: they only append to the log and
    rename their files into place, so they can run side by side, but not beside a training
    run, whose log they would break into. The lock is flock's on the folder itself, so nothing
    is added to the folder, and the kernel drops it when the process ends, even by SIGKILL.
    """
    os.makedirs(path, exist_ok=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            pids = ", ".join(map(str, _lock_holders(fd)))
            raise UserError(f"another run{f' (pid {pids})' if pids else ''} is using "
                            f"--OUTPUT_DIR {path}; wait for it to end, or give another "
                            "OUTPUT_DIR") from None
        except OSError as error:
            # Some network file systems lock no folders: refusing would stop every run there.
            warnings.warn(f"--OUTPUT_DIR {path} cannot be locked ({error.strerror}): nothing "
                          "stops another run from writing into it at the same time")
        yield
    finally:
        os.close(fd)


def _lock_holders(fd):
    """The ids of the other processes holding a flock on the file open as `fd`, from
    /proc/locks (Linux); empty where that cannot be read."""
    stat = os.fstat(fd)
    file_id = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    try:
        with open("/proc/locks", encoding="ascii") as f:
            rows = [line.split() for line in f]
    except OSError:
        return []
    # "1: FLOCK  ADVISORY  WRITE 4535 fe:00:2146531 0 EOF"; waiters' rows have "->" in [1].
    return sorted({int(row[4]) for row in rows if len(row) > 5 and row[1] == "FLOCK"
                   and row[5] == file_id and row[4].isdigit()} - {os.getpid()})


def _check_checkpoint_path(path, model_format):
    """The checkpoint is there and really is `model_format` (its contents are checked on loading).

    Args:
        path: `--CHECKPOINT_PATH`.
        model_format: "CKPT" (a TensorFlow checkpoint prefix) or "HDF5".
    """
    import h5py

    is_hdf5 = os.path.isfile(path) and h5py.is_hdf5(path)
    if model_format == "HDF5":
        if not os.path.isfile(path):
            raise UserError(f"--CHECKPOINT_PATH {path} is not a file; give the .hdf5 file")
        if not is_hdf5:
            raise UserError(f"--CHECKPOINT_PATH {path} is not an HDF5 file; give a Keras .hdf5 "
                            "file, or --MODEL_FORMAT CKPT for a TensorFlow checkpoint")
        return
    if is_hdf5:
        raise UserError(f"--CHECKPOINT_PATH {path} is an HDF5 file, not a TensorFlow "
                        "checkpoint; add --MODEL_FORMAT HDF5")
    if not os.path.isfile(path + ".index"):
        # Common slips: naming the checkpoint's folder, or one of its files, not its prefix.
        if os.path.isdir(path):
            found = sorted(glob.glob(os.path.join(glob.escape(path), "*.index")))
        else:
            found = [re.sub(r"\.(index|meta|data-\d+-of-\d+)$", "", path) + ".index"]
        found = [name for name in found if os.path.isfile(name)]
        example = found[0][:-len(".index")] if found else "$BERT_BASE_DIR/bert_model.ckpt"
        raise UserError(f"--CHECKPOINT_PATH {path} is not a TensorFlow checkpoint prefix: "
                        f"{path}.index does not exist; give the prefix, e.g. {example}")


def _read_splits(task, data_dir, splits, notes):
    """Reads the splits the mode needs, noting skipped short rows (GLUE's own QQP has some)."""
    from data.glue import read_examples

    examples = [read_examples(task, data_dir, split) for split in splits]
    for split in examples:
        if split.skipped_rows:
            notes.append(f"skipped {split.skipped_rows} short rows of {split.path}, as GLUE's "
                         "own QQP files have them")
    return examples


def _training_arguments(args, task, hp, model_format):
    """What a resumed run must share with the run it continues: the flags that shape training."""
    return {"TASK": task.name, "seq_len": task.seq_len, "MODEL_FORMAT": model_format,
            **{flag: os.path.abspath(getattr(args, flag)) for flag in (
                "BERT_CONFIG_PATH", "CHECKPOINT_PATH", "VOCAB_PATH", "DATA_DIR")},
            "CASED": args.CASED, "EPOCH": hp.epochs, "BATCH_SIZE": hp.batch_size,
            "LR_BERT": hp.lr_bert, "LR_SOFT_EXTRACT": hp.lr_soft_extract, "LAMBDA": hp.lambda_,
            "PADDING": hp.padding, "GROUP_BY_LENGTH": hp.group_by_length,
            "RETENTION_MODE": hp.retention_mode,
            "SEED": hp.seed}


def _check_training_dir(output_dir, arguments, resume):
    """A new run needs an OUTPUT_DIR free of our outputs; --RESUME needs a matching, unfinished one.

    Args:
        output_dir: `--OUTPUT_DIR`.
        arguments: this run's `_training_arguments`.
        resume: `--RESUME` was given.
    """
    from training.log import PROGRESS, RunProgress
    from training.steps import STEP_OUTPUTS

    if not resume:
        found = [name for name in (PROGRESS, *(file for _, file in STEP_OUTPUTS))
                 if os.path.exists(os.path.join(output_dir, name))]
        if found:
            raise UserError(f"--OUTPUT_DIR {output_dir} already holds a training run "
                            f"({', '.join(found)}); use --RESUME or another OUTPUT_DIR")
        return
    progress = RunProgress(output_dir)
    if progress.arguments is None:
        raise UserError(f"--RESUME: --OUTPUT_DIR {output_dir} holds no training run to resume "
                        "(no progress.json); run without --RESUME to start one")
    changed = [f"{key} {progress.arguments.get(key)} then, {arguments.get(key)} now"
               for key in sorted(set(arguments) | set(progress.arguments))
               if arguments.get(key) != progress.arguments.get(key)]
    if changed:
        raise UserError(f"--RESUME: the run in {output_dir} was started with other arguments "
                        f"({'; '.join(changed)}); resume with the same arguments, or use "
                        "another OUTPUT_DIR")
    if all(progress.finished(name, file) is not None for name, file in STEP_OUTPUTS):
        raise UserError(f"--RESUME: the training run in {output_dir} is already complete; "
                        "nothing to resume")


def _default(args, flag, value, task, notes):
    if getattr(args, flag) is not None:
        return getattr(args, flag)
    notes.append(f"{flag} not given: using {value}, the original's for {task.name}")
    return value


def _retention_mode(args, model_format, padding, notes):
    """`--RETENTION_MODE`, or the checkpoint's (see `checkpoints.load.resolve_retention_mode`)."""
    from checkpoints.load import resolve_retention_mode

    mode, note = resolve_retention_mode(args.RETENTION_MODE, args.CHECKPOINT_PATH, model_format)
    if mode == "relative" and padding == "seq_len":
        raise UserError("--RETENTION_MODE relative keeps a share of each input's real length "
                        "and runs with --PADDING batch: drop --PADDING seq_len (an .hdf5 file "
                        "of the original runs with seq_len unless --PADDING batch is given)")
    notes.append(note)
    return mode


def _log_arguments(log, args, notes):
    log("Arguments: " + " ".join(f"--{k}={v}" for k, v in vars(args).items()))
    for note in notes:
        log(note)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _after_interrupt(args):
    """What an interrupted run leaves and how to go on, by mode (`args` None: not yet parsed)."""
    if args is not None and args.EVAL_ONLY:
        return "the dev set was not scored; run the command again"
    if args is not None and args.PREDICT_ONLY:
        return (f"no {PREDICTIONS} was written (an earlier one is kept as it was); run the "
                "command again")
    return ("files already complete in OUTPUT_DIR are kept (finish a training run with "
            "--RESUME)")


def main(argv=None):
    """Runs main.py with `argv` (default: the command line); returns the exit status.

    0: done; 2: a user error (one line on stderr); 130: interrupted by Ctrl-C or SIGTERM.
    """
    # SIGTERM (kill, timeout, a cluster scheduler) stops a run as cleanly as Ctrl-C does.
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    args = None
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        run(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"error: interrupted; {_after_interrupt(args)}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
