"""runs/run_config.py: main.py's flags resolved into one RunConfig."""

import dataclasses
from pathlib import Path

import pytest

from command_line import parse_args
from data.tasks import get_task
from extract_layers import RetentionConfiguration
from runs.run_config import resolve_flags

# Resolving the flags checks that DATA_DIR is a folder but reads no rows: any folder will do.
DATA_DIR = str(Path(__file__).parent)


def _resolve(*flags):
    args = parse_args(["--TASK", "mrpc", "--DATA_DIR", DATA_DIR,
                       "--OUTPUT_DIR", "/nonexistent/out", *flags])
    return resolve_flags(args, args.OUTPUT_DIR)


def test_a_google_checkpoint_takes_the_originals_defaults_and_says_so(minilm_google):
    mrpc = get_task("mrpc", None)
    config = _resolve("--BERT_CONFIG_PATH", str(minilm_google / "bert_config.json"),
                      "--CHECKPOINT_PATH", str(minilm_google / "bert_model.ckpt"),
                      "--VOCAB_PATH", str(minilm_google / "vocab.txt"))
    assert (config.mode, config.batch_size, config.hp.epochs) == ("train", mrpc.batch_size, 3)
    assert (config.hp.lr_bert, config.hp.lr_soft_extract, config.hp.lambda_) == (
        mrpc.lr_bert, mrpc.lr_soft_extract, mrpc.lambda_)
    for flag, value in [("BATCH_SIZE", mrpc.batch_size), ("LR_BERT", mrpc.lr_bert),
                        ("LR_SOFT_EXTRACT", mrpc.lr_soft_extract), ("LAMBDA", mrpc.lambda_),
                        ("EPOCH", 3)]:
        assert f"{flag} not given: using {value}, the original's for mrpc" in config.notes


def test_the_embedded_minilm_takes_its_own_measured_defaults_and_says_so():
    """Its step 1 at the original's MRPC budget learned little; see data/tasks.py."""
    mrpc = get_task("mrpc", None)
    config = _resolve()
    own = {"BATCH_SIZE": (config.batch_size, 32), "EPOCH": (config.hp.epochs, 5),
           "LR_BERT": (config.hp.lr_bert, 5e-5)}  # Hugging Face's budget
    for flag, (value, expected) in own.items():
        assert value == expected, flag
        assert f"{flag} not given: using {value}, the embedded MiniLM's for mrpc" in config.notes
    embedded = mrpc.defaults_for(True)
    hp = config.hp
    for flag, value, expected, original in (
            ("LR_SOFT_EXTRACT", hp.lr_soft_extract, embedded.lr_soft_extract,
             mrpc.lr_soft_extract),
            ("LAMBDA", hp.lambda_, embedded.lambda_, mrpc.lambda_),
            ("SEARCH_EPOCH", hp.search_epochs, embedded.search_epochs, None),
            ("RETRAIN_EPOCH", hp.retrain_epochs, embedded.retrain_epochs, None)):
        assert value == expected is not None and expected != original, flag
        assert f"{flag} not given: using {value}, the embedded MiniLM's for mrpc" in config.notes


def test_a_given_epoch_sets_all_three_steps_as_in_the_original():
    config = _resolve("--EPOCH", "2")
    assert config.hp.step_epochs == (2, 2, 2)
    assert not any(note.startswith(("SEARCH_EPOCH", "RETRAIN_EPOCH")) for note in config.notes)
    config = _resolve("--EPOCH", "2", "--SEARCH_EPOCH", "1")
    assert config.hp.step_epochs == (2, 1, 2)
    assert config.training_arguments()["SEARCH_EPOCH"] == 1
    assert "RETRAIN_EPOCH" not in config.training_arguments()


def _resolve_imdb(*flags):
    args = parse_args(["--TASK", "imdb", "--DATA_DIR", DATA_DIR,
                       "--OUTPUT_DIR", "/nonexistent/out", *flags])
    return resolve_flags(args, args.OUTPUT_DIR)


def test_imdb_defaults_are_not_called_the_originals(minilm_google):
    config = _resolve_imdb("--BERT_CONFIG_PATH", str(minilm_google / "bert_config.json"),
                           "--CHECKPOINT_PATH", str(minilm_google / "bert_model.ckpt"),
                           "--VOCAB_PATH", str(minilm_google / "vocab.txt"))
    imdb = get_task("imdb")
    assert (config.batch_size, config.hp.lr_bert) == (imdb.batch_size, imdb.lr_bert)
    assert f"LR_BERT not given: using {imdb.lr_bert}, this project's for imdb" in config.notes
    assert not any("the original's" in note for note in config.notes)


def test_imdb_with_the_embedded_minilm_takes_its_lambda_chosen_on_held_out_reviews():
    """benchmarks/results/imdb_lambda_choice.md."""
    config = _resolve_imdb()
    assert (config.batch_size, config.hp.lambda_, config.hp.step_epochs) == (32, 5e-5, (5, 2, 2))
    assert "LAMBDA not given: using 5e-05, the embedded MiniLM's for imdb" in config.notes


def test_a_given_zero_is_kept_and_not_noted():
    config = _resolve("--LR_BERT", "0", "--LAMBDA", "0", "--BATCH_SIZE", "8")
    assert (config.hp.lr_bert, config.hp.lambda_, config.batch_size) == (0, 0, 8)
    assert not any(note.startswith(("LR_BERT", "LAMBDA", "BATCH_SIZE"))
                   for note in config.notes)
    assert any(note.startswith("LR_SOFT_EXTRACT not given") for note in config.notes)


def test_prediction_has_no_hyperparameters_and_is_frozen():
    config = _resolve("--PREDICT_ONLY")
    assert (config.mode, config.hp, config.retention) == (
        "predict", None, RetentionConfiguration((128,) * 6, "absolute", "batch"))
    assert not any(note.startswith("LR_") for note in config.notes)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 1
