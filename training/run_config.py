"""The run configuration: main.py's flags resolved once, every default filled in."""

import dataclasses
import os

from checkpoints.default_model import is_default_model, with_default_model
from checkpoints.load import (check_checkpoint_path, check_task, guess_format,
                              resolve_padding, resolve_retention, resolve_retention_mode)
from data.glue import check_data_dir
from data.tasks import Task, get_task
from errors import UserError
from modeling.config import BertConfig, load_config
from tokenization import FullTokenizer, SentencePieceTokenizer, load_model_tokenizer
from training.distillation import DEFAULT_ALPHA, DEFAULT_TEMPERATURE
from training.steps import Hyperparameters


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """What one run of main.py does, every default resolved; made by `resolve_flags`.

    Attributes:
        mode: "train", "evaluate" (--EVAL_ONLY) or "predict" (--PREDICT_ONLY).
        task: the task; its seq_len from --TASK_CONFIG_PATH where that names it.
        output_dir: where the run writes: --OUTPUT_DIR, or a worker's temporary folder.
        data_dir: --DATA_DIR.
        bert_config_path, checkpoint_path, vocab_path: as given, else the embedded MiniLM's.
        bert_config: the model's BertConfig, read from `bert_config_path`.
        tokenizer: the tokenizer of `vocab_path`, checked against the model's vocab_size.
        cased: --CASED.
        model_format: "CKPT" or "HDF5", given or guessed from the checkpoint's name.
        batch_size: --BATCH_SIZE, else the task's (the embedded MiniLM's, where it has its own).
        padding: "batch" or "seq_len", see `checkpoints.load.resolve_padding`.
        retention_mode: "absolute" or "relative", see `checkpoints.load.resolve_retention_mode`.
        retention: evaluate and predict: the retention configuration to run at; train: None.
        hp: train: its hyperparameters; evaluate and predict: None.
        pred_glue: --PRED_GLUE.
        resume: --RESUME.
        flags: (flag, value) of every flag, the model's paths resolved, for the log.
        notes: the defaults taken and where they came from, for the log.
    """

    mode: str
    task: Task
    output_dir: str
    data_dir: str
    bert_config_path: str
    checkpoint_path: str
    vocab_path: str
    bert_config: BertConfig
    tokenizer: FullTokenizer | SentencePieceTokenizer
    cased: bool
    model_format: str
    batch_size: int
    padding: str
    retention_mode: str
    retention: list | None
    hp: Hyperparameters | None
    pred_glue: bool
    resume: bool
    flags: tuple
    notes: tuple

    @property
    def relative(self):
        return self.retention_mode == "relative"

    def training_arguments(self):
        """What a resumed run must share with the run it continues: the flags that shape
        training, as `RunProgress.start` records them."""
        hp = self.hp
        return {"TASK": self.task.name, "seq_len": self.task.seq_len,
                "MODEL_FORMAT": self.model_format,
                "BERT_CONFIG_PATH": os.path.abspath(self.bert_config_path),
                "CHECKPOINT_PATH": os.path.abspath(self.checkpoint_path),
                "VOCAB_PATH": os.path.abspath(self.vocab_path),
                "DATA_DIR": os.path.abspath(self.data_dir),
                "CASED": self.cased, "EPOCH": hp.epochs, "BATCH_SIZE": hp.batch_size,
                "LR_BERT": hp.lr_bert, "LR_SOFT_EXTRACT": hp.lr_soft_extract,
                "LAMBDA": hp.lambda_, "PADDING": hp.padding,
                "GROUP_BY_LENGTH": hp.group_by_length, "RETENTION_MODE": hp.retention_mode,
                "SEED": hp.seed,
                # Only when given, so that runs started before these flags existed resume.
                **({"DISTILL": hp.distill, "TEMPERATURE": hp.temperature} if hp.distills
                   else {}),
                **({"MASS_PENALTY": hp.mass_penalty} if hp.mass_penalty != "paper" else {}),
                **({"RETRAIN_EPOCH": hp.retrain_epochs} if hp.retrain_epochs is not None
                   else {})}


def resolve_flags(args, output_dir):
    """Checks the files the flags name and fills in every default.

    Args:
        args: the flags, from `command_line.parse_args`.
        output_dir: where the run writes: --OUTPUT_DIR, or a worker's temporary folder.

    Returns:
        The RunConfig.
    """
    task = get_task(args.TASK, args.TASK_CONFIG_PATH, args.DATA_DIR)
    if args.PRED_GLUE and task.glue_file is None:
        raise UserError(f"--PRED_GLUE writes the GLUE server's file, but {task.name} is not a "
                        "GLUE task: drop --PRED_GLUE (prediction.txt holds the predictions)")
    # Before the default model's conversion: a first run without data stops at once.
    check_data_dir(task, args.DATA_DIR)
    bert_config_path, checkpoint_path, vocab_path = with_default_model(
        args.BERT_CONFIG_PATH, args.CHECKPOINT_PATH, args.VOCAB_PATH)
    embedded = is_default_model(checkpoint_path)
    bert_config = load_config(bert_config_path)
    tokenizer = load_model_tokenizer(vocab_path, args.CASED, bert_config.vocab_size,
                                     bert_config_path)
    model_format = args.MODEL_FORMAT or guess_format(checkpoint_path)
    check_checkpoint_path(checkpoint_path, model_format)
    check_task(task, checkpoint_path, model_format)
    mode, mode_note = resolve_retention_mode(args.RETENTION_MODE, checkpoint_path, model_format,
                                             args.RETENTION_CONFIG)
    if mode == "relative" and args.PADDING == "seq_len":
        relative = ("--RETENTION_MODE relative" if args.RETENTION_MODE else
                    f"--RETENTION_CONFIG {args.RETENTION_CONFIG} (shares: relative mode)")
        raise UserError(f"{relative} keeps a share of each input's real length and runs with "
                        "--PADDING batch: drop --PADDING seq_len")
    padding, note = resolve_padding(args.PADDING, checkpoint_path, model_format,
                                    relative=mode == "relative")
    notes = [note, mode_note]
    if args.GROUP_BY_LENGTH and padding == "seq_len":
        raise UserError(f"--GROUP_BY_LENGTH saves padding, but {checkpoint_path} runs "
                        "with --PADDING seq_len: give --PADDING batch, or drop --GROUP_BY_LENGTH")
    (batch_size,) = _task_defaults(args, task, embedded, ["batch_size"], notes)

    retention = hp = None
    if args.EVAL_ONLY or args.PREDICT_ONLY:
        retention, note = resolve_retention(args.RETENTION_CONFIG, checkpoint_path, model_format,
                                            bert_config.num_hidden_layers, task.seq_len,
                                            relative=mode == "relative")
        if note:
            notes.append(note)
    elif args.RETENTION_CONFIG is not None:
        raise UserError("--RETENTION_CONFIG is for --EVAL_ONLY/--PREDICT_ONLY; training finds "
                        "the configuration itself: drop the flag")
    else:
        epochs, lr_bert, lr_soft_extract, lambda_ = _task_defaults(
            args, task, embedded, ["epochs", "lr_bert", "lr_soft_extract", "lambda_"], notes)
        hp = Hyperparameters(epochs=epochs, batch_size=batch_size, lr_bert=lr_bert,
                             lr_soft_extract=lr_soft_extract, lambda_=lambda_,
                             padding=padding, group_by_length=args.GROUP_BY_LENGTH,
                             retention_mode=mode, seed=args.SEED,
                             mass_penalty=args.MASS_PENALTY or "paper",
                             retrain_epochs=args.RETRAIN_EPOCH,
                             **_distillation(args, notes))
    flags = {**vars(args), "BERT_CONFIG_PATH": bert_config_path,
             "CHECKPOINT_PATH": checkpoint_path, "VOCAB_PATH": vocab_path,
             "OUTPUT_DIR": output_dir}
    return RunConfig(
        mode="evaluate" if args.EVAL_ONLY else "predict" if args.PREDICT_ONLY else "train",
        task=task, output_dir=output_dir, data_dir=args.DATA_DIR,
        bert_config_path=bert_config_path, checkpoint_path=checkpoint_path,
        vocab_path=vocab_path, bert_config=bert_config, tokenizer=tokenizer, cased=args.CASED,
        model_format=model_format, batch_size=batch_size, padding=padding,
        retention_mode=mode, retention=retention, hp=hp, pred_glue=args.PRED_GLUE,
        resume=args.RESUME, flags=tuple(flags.items()), notes=tuple(notes))


def _distillation(args, notes):
    """Hyperparameters' distill and temperature from --DISTILL and --TEMPERATURE, the
    defaults taken noted for the log."""
    if args.DISTILL == 0:
        return {}
    alpha, temperature = args.DISTILL, args.TEMPERATURE
    if alpha is None:
        alpha = DEFAULT_ALPHA
        notes.append(f"--DISTILL given alone: ALPHA {alpha}, the one value measured (on MRPC)")
    if temperature is None:
        temperature = DEFAULT_TEMPERATURE
        notes.append(f"--TEMPERATURE not given: using {temperature}, the one value measured "
                     "(on MRPC)")
    return {"distill": alpha, "temperature": temperature}


# The flag that gives each of the task's defaults.
_FLAGS = {"epochs": "EPOCH", "batch_size": "BATCH_SIZE", "lr_bert": "LR_BERT", "lr_soft_extract": "LR_SOFT_EXTRACT",
          "lambda_": "LAMBDA"}


def _task_defaults(args, task, embedded, fields, notes):
    """The flags of `fields` (Task field names), with the task's default for each one not
    given, noted for the log (0 is a given value); `embedded`: the checkpoint is the embedded
    MiniLM, which has defaults of its own for some tasks."""
    given = {field: getattr(args, _FLAGS[field]) for field in fields}
    values = task.defaults_for(embedded).unless_given(**given)

    def whose(field):
        if embedded and field in task.embedded:
            return "the embedded MiniLM's"
        # The original gave defaults for the GLUE tasks only; imdb's are this project's own,
        # and a user task's come from its entry or else this project's (data/user_tasks.py).
        return "the original's" if task.glue_file else \
            "its task entry's or this project's" if task.source else "this project's"

    notes.extend(f"{_FLAGS[field]} not given: using {values[field]}, {whose(field)} for "
                 f"{task.name}" for field in fields if given[field] is None)
    return [values[field] for field in fields]
