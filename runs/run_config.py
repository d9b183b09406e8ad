"""The run configuration: main.py's flags resolved once, every default filled in."""

import dataclasses
import os

from checkpoints.default_model import is_default_model
from errors import UserError
from runs.model_setup import ModelSetup, set_up_model
from training.distillation import DEFAULT_ALPHA, DEFAULT_TEMPERATURE
from training.step_inputs import Hyperparameters


@dataclasses.dataclass(frozen=True)
class RunConfig(ModelSetup):
    """What one run of main.py does, every default resolved: its model (the fields of
    `ModelSetup`), and the run's own settings; made by `resolve_flags`.

    Attributes:
        mode: "train", "evaluate" (--EVAL_ONLY) or "predict" (--PREDICT_ONLY).
        output_dir: where the run writes: --OUTPUT_DIR, or a worker's temporary folder.
        data_dir: --DATA_DIR.
        batch_size: --BATCH_SIZE, else the task's (the embedded MiniLM's, where it has its own).
        hp: train: its hyperparameters; evaluate and predict: None.
        pred_glue: --PRED_GLUE.
        resume: --RESUME.
        flags: (flag, value) of every flag, the model's paths resolved, for the log.
    """

    mode: str
    output_dir: str
    data_dir: str
    batch_size: int
    hp: Hyperparameters | None
    pred_glue: bool
    resume: bool
    flags: tuple

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
                **{flag: value for flag, value in (("SEARCH_EPOCH", hp.search_epochs),
                                                   ("RETRAIN_EPOCH", hp.retrain_epochs))
                   if value is not None}}


def resolve_flags(args, output_dir):
    """Checks the files the flags name and fills in every default.

    Args:
        args: the flags, from `command_line.parse_args`.
        output_dir: where the run writes: --OUTPUT_DIR, or a worker's temporary folder.

    Returns:
        The RunConfig.
    """
    inference = args.EVAL_ONLY or args.PREDICT_ONLY
    model = set_up_model(args, with_retention=inference, data_dir=args.DATA_DIR)
    task = model.task
    if args.PRED_GLUE and task.glue_file is None:
        raise UserError(f"--PRED_GLUE writes the GLUE server's file, but {task.name} is not a "
                        "GLUE task: drop --PRED_GLUE (prediction.txt holds the predictions)")
    notes = list(model.notes)
    if args.GROUP_BY_LENGTH and model.retention.padding == "seq_len":
        raise UserError(f"--GROUP_BY_LENGTH saves padding, but {model.checkpoint_path} runs "
                        "with --PADDING seq_len: give --PADDING batch, or drop --GROUP_BY_LENGTH")
    embedded = is_default_model(model.checkpoint_path)
    (batch_size,) = _task_defaults(args, task, embedded, ["batch_size"], notes)

    hp = None
    if not inference:
        if args.RETENTION_CONFIG is not None:
            raise UserError("--RETENTION_CONFIG is for --EVAL_ONLY/--PREDICT_ONLY; training "
                            "finds the configuration itself: drop the flag")
        epochs, lr_bert, lr_soft_extract, lambda_ = _task_defaults(
            args, task, embedded, ["epochs", "lr_bert", "lr_soft_extract", "lambda_"], notes)
        hp = Hyperparameters(epochs=epochs, batch_size=batch_size, lr_bert=lr_bert,
                             lr_soft_extract=lr_soft_extract, lambda_=lambda_,
                             padding=model.retention.padding,
                             group_by_length=args.GROUP_BY_LENGTH,
                             retention_mode=model.retention.mode, seed=args.SEED,
                             mass_penalty=args.MASS_PENALTY or "paper",
                             **_step_epochs(args, task, embedded, notes),
                             **_distillation(args, notes))
    flags = {**vars(args), "BERT_CONFIG_PATH": model.bert_config_path,
             "CHECKPOINT_PATH": model.checkpoint_path, "VOCAB_PATH": model.vocab_path,
             "OUTPUT_DIR": output_dir}
    shared = {field.name: getattr(model, field.name) for field in dataclasses.fields(ModelSetup)}
    return RunConfig(
        **{**shared, "notes": tuple(notes)},
        mode="evaluate" if args.EVAL_ONLY else "predict" if args.PREDICT_ONLY else "train",
        output_dir=output_dir, data_dir=args.DATA_DIR, batch_size=batch_size, hp=hp,
        pred_glue=args.PRED_GLUE, resume=args.RESUME, flags=tuple(flags.items()))


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
_FLAGS = {"epochs": "EPOCH", "batch_size": "BATCH_SIZE", "lr_bert": "LR_BERT",
          "lr_soft_extract": "LR_SOFT_EXTRACT", "lambda_": "LAMBDA",
          "search_epochs": "SEARCH_EPOCH", "retrain_epochs": "RETRAIN_EPOCH"}


def _step_epochs(args, task, embedded, notes):
    """Hyperparameters' search_epochs and retrain_epochs (`Task.step_epochs_unless_given`),
    the embedded MiniLM's defaults taken noted for the log."""
    values = task.defaults_for(embedded).step_epochs_unless_given(
        args.EPOCH, args.SEARCH_EPOCH, args.RETRAIN_EPOCH)
    notes.extend(f"{_FLAGS[field]} not given: using {value}, the embedded MiniLM's for "
                 f"{task.name}" for field, value in values.items()
                 if value is not None and getattr(args, _FLAGS[field]) is None)
    return values


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
