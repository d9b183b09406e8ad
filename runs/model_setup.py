"""The model a command runs, set up from its flags: main.py's runs and the export share it."""

import dataclasses

from checkpoints.default_model import with_default_model
from checkpoints.load import check_checkpoint_path, guess_format, load_classifier
from checkpoints.record import ModelRecord
from data.glue import check_data_dir
from data.tasks import Task, get_task
from errors import UserError
from extract_layers import RELATIVE, RetentionConfiguration
from modeling.bert import build_model
from modeling.config import BertConfig, load_config
from tokenization import FullTokenizer, SentencePieceTokenizer, load_model_tokenizer


@dataclasses.dataclass(frozen=True)
class ModelSetup:
    """The task, the model's files and how the model runs, every default resolved; made by
    `set_up_model`.

    Attributes:
        task: the task; its seq_len from --TASK_CONFIG_PATH where that names it.
        bert_config_path, checkpoint_path, vocab_path: as given, else the embedded MiniLM's.
        bert_config: the model's BertConfig, read from `bert_config_path`.
        tokenizer: the tokenizer of `vocab_path`, checked against the model's vocab_size.
        cased: --CASED.
        model_format: "CKPT" or "HDF5", given or guessed from the checkpoint's name.
        retention: the `RetentionConfiguration`: its mode (`ModelRecord.retention_mode_for`),
            padding (`ModelRecord.padding_for`) and values to run at
            (`ModelRecord.retention_for`), the values None where they were not asked for
            (training finds its own).
        notes: the defaults taken and where they came from, for the log.
    """

    task: Task
    bert_config_path: str
    checkpoint_path: str
    vocab_path: str
    bert_config: BertConfig
    tokenizer: FullTokenizer | SentencePieceTokenizer
    cased: bool
    model_format: str
    retention: RetentionConfiguration
    notes: tuple

    def build_classifier(self, use):
        """The model at `retention`, its classifier loaded from the checkpoint.

        Args:
            use: what the caller does with the model ("evaluate", "export"), for the error.

        Raises:
            UserError: the checkpoint does not fit, or has no classifier.
        """
        model = build_model(self.bert_config, self.task.seq_len, self.task.num_labels,
                            self.retention)
        load_classifier(model, self.checkpoint_path, self.model_format, self.bert_config,
                        self.task.seq_len, use)
        return model


def set_up_model(args, with_retention, data_dir=None):
    """Checks the files the flags name and resolves how the model runs, from the flags and the
    model file's record (read once).

    Args:
        args: the flags: TASK, TASK_CONFIG_PATH, BERT_CONFIG_PATH, CHECKPOINT_PATH,
            VOCAB_PATH, CASED, MODEL_FORMAT, RETENTION_MODE, RETENTION_CONFIG and PADDING, as
            main.py takes them.
        with_retention: resolve the retention configuration to run at (evaluation, prediction,
            export).
        data_dir: --DATA_DIR of a run that reads data, checked before the default model's
            conversion, so that a first run without data stops at once.

    Returns:
        The ModelSetup.
    """
    # Export's --DATA_DIR too: a task of the user's own data without "labels" reads train's.
    task = get_task(args.TASK, args.TASK_CONFIG_PATH, args.DATA_DIR)
    if data_dir is not None:
        check_data_dir(task, data_dir)
    bert_config_path, checkpoint_path, vocab_path = with_default_model(
        args.BERT_CONFIG_PATH, args.CHECKPOINT_PATH, args.VOCAB_PATH)
    bert_config = load_config(bert_config_path)
    tokenizer = load_model_tokenizer(vocab_path, args.CASED, bert_config.vocab_size,
                                     bert_config_path)
    model_format = args.MODEL_FORMAT or guess_format(checkpoint_path)
    check_checkpoint_path(checkpoint_path, model_format)
    record = ModelRecord.read(checkpoint_path, model_format)
    record.check_task(task)
    mode, mode_note = record.retention_mode_for(args.RETENTION_MODE, args.RETENTION_CONFIG)
    relative = mode == RELATIVE
    if relative and args.PADDING == "seq_len":
        given = ("--RETENTION_MODE relative" if args.RETENTION_MODE else
                 f"--RETENTION_CONFIG {args.RETENTION_CONFIG} (shares: relative mode)")
        raise UserError(f"{given} keeps a share of each input's real length and runs with "
                        "--PADDING batch: drop --PADDING seq_len")
    padding, padding_note = record.padding_for(args.PADDING, relative)
    retention = RetentionConfiguration(mode=mode, padding=padding)
    notes = [padding_note, mode_note]
    if with_retention:
        retention, note = record.retention_for(args.RETENTION_CONFIG,
                                               bert_config.num_hidden_layers, task.seq_len,
                                               retention)
        if note:
            notes.append(note)
    return ModelSetup(
        task=task, bert_config_path=bert_config_path, checkpoint_path=checkpoint_path,
        vocab_path=vocab_path, bert_config=bert_config, tokenizer=tokenizer, cased=args.CASED,
        model_format=model_format, retention=retention, notes=tuple(notes))
