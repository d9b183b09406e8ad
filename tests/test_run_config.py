"""runs/run_config.py: main.py's flags resolved into one RunConfig."""

import dataclasses

import pytest

from command_line import parse_args
from data.tasks import get_task
from tests.helpers import GLUE_DIR
from runs.run_config import resolve_flags


def _resolve(*flags):
    args = parse_args(["--TASK", "mrpc", "--DATA_DIR", str(GLUE_DIR / "MRPC"),
                       "--OUTPUT_DIR", "/nonexistent/out", *flags])
    return resolve_flags(args, args.OUTPUT_DIR)


def test_training_takes_the_tasks_defaults_and_says_so():
    mrpc = get_task("mrpc", None)
    config = _resolve()
    assert (config.mode, config.batch_size) == ("train", mrpc.batch_size)
    assert (config.hp.lr_bert, config.hp.lr_soft_extract, config.hp.lambda_) == (
        mrpc.lr_bert, mrpc.lr_soft_extract, mrpc.lambda_)
    for flag, value in [("BATCH_SIZE", mrpc.batch_size), ("LR_BERT", mrpc.lr_bert),
                        ("LR_SOFT_EXTRACT", mrpc.lr_soft_extract), ("LAMBDA", mrpc.lambda_)]:
        assert f"{flag} not given: using {value}, the original's for mrpc" in config.notes


def test_imdb_defaults_are_not_called_the_originals():
    args = parse_args(["--TASK", "imdb", "--DATA_DIR", str(GLUE_DIR.parent / "imdb"),
                       "--OUTPUT_DIR", "/nonexistent/out"])
    config = resolve_flags(args, args.OUTPUT_DIR)
    imdb = get_task("imdb")
    assert (config.batch_size, config.hp.lr_bert) == (imdb.batch_size, imdb.lr_bert)
    assert f"LR_BERT not given: using {imdb.lr_bert}, this project's for imdb" in config.notes
    assert not any("the original's" in note for note in config.notes)


def test_a_given_zero_is_kept_and_not_noted():
    config = _resolve("--LR_BERT", "0", "--LAMBDA", "0", "--BATCH_SIZE", "8")
    assert (config.hp.lr_bert, config.hp.lambda_, config.batch_size) == (0, 0, 8)
    assert not any(note.startswith(("LR_BERT", "LAMBDA", "BATCH_SIZE"))
                   for note in config.notes)
    assert any(note.startswith("LR_SOFT_EXTRACT not given") for note in config.notes)


def test_prediction_has_no_hyperparameters_and_is_frozen():
    config = _resolve("--PREDICT_ONLY")
    assert (config.mode, config.hp, config.retention) == ("predict", None, [128] * 6)
    assert not any(note.startswith("LR_") for note in config.notes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 1
