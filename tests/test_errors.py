"""Wrong input as a new user gives it: one line on stderr, exit 2, OUTPUT_DIR untouched.

Each case runs `main.main` in-process twice: with an OUTPUT_DIR that does not exist yet (it
must not be created) and with one holding an earlier training run (nothing in it may change:
not a file, not a byte, not an mtime, not a log line).
"""

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from checkpoints.google import write_google_checkpoint
from checkpoints.hdf5 import model_record, write_hdf5_weights
from data.tasks import get_task
from deploy import export
from errors import UserError
from extract_layers import RetentionConfiguration
import main
from modeling.bert import build_model
from modeling.config import BertConfig, load_config
from tests.helpers import make_tiny_run, random_variables
from training import steps


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_run(tmp_path_factory.mktemp("tiny"))


def _write(path, text_or_bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text_or_bytes, bytes):
        path.write_bytes(text_or_bytes)
    else:
        path.write_text(text_or_bytes, encoding="utf-8")
    return str(path)


def _config_with(tiny, tmp, **changes):
    config = json.loads(tiny.config.read_text())
    config.update(changes)
    return _write(tmp / "changed_config.json", json.dumps(config))


def _data_dir_with(tiny, tmp, split, text_or_bytes):
    """A copy of the tiny MRPC folder whose `split` file is replaced."""
    data = tmp / "data"
    shutil.copytree(tiny.data_dir, data)
    _write(data / f"{split}.tsv", text_or_bytes)
    return str(data)


def _mrpc_header(tiny):
    return (tiny.data_dir / "dev.tsv").read_text(encoding="utf-8").splitlines()[0] + "\n"


def _replace(argv, flag, value):
    """`argv` with `flag`'s value replaced (or the flag added)."""
    argv = list(argv)
    if flag in argv:
        argv[argv.index(flag) + 1] = value
    else:
        argv += [flag, value]
    return argv


def _eval(tiny, *extra):
    return tiny.argv("--EVAL_ONLY", *extra)


def _empty_hdf5(tmp):
    """A real HDF5 file that holds no Keras weights."""
    with h5py.File(tmp / "empty.hdf5", "w") as f:
        f.attrs["keras_version"] = b"2.3.1"
    return str(tmp / "empty.hdf5")


def _data_dir_of(tiny, tmp, *splits):
    """A folder with only some of the tiny MRPC files."""
    for split in splits:
        shutil.copy(tiny.data_dir / f"{split}.tsv", tmp / f"{split}.tsv")
    return str(tmp)


def _link_loop(tmp):
    """A symbolic link that leads back to itself."""
    (tmp / "loop").symlink_to(tmp / "loop")
    return str(tmp / "loop")


def _broken_test_tsv(tmp):
    """A DATA_DIR whose test.tsv is a symbolic link to a file that is not there."""
    (tmp / "linked").mkdir()
    (tmp / "linked" / "test.tsv").symlink_to(tmp / "moved.tsv")
    return str(tmp / "linked")


def _index_only(tiny, tmp):
    """A checkpoint prefix whose .index exists but whose data file does not."""
    shutil.copy(f"{tiny.checkpoint}.index", tmp / "x.ckpt.index")
    return str(tmp / "x.ckpt")


def _folder(path):
    path.mkdir(parents=True)
    return path


def _log_folder(tmp):
    """An OUTPUT_DIR whose log_file.txt cannot be appended to: it is a folder (even for root)."""
    return str(_folder(tmp / "out" / "log_file.txt").parent)


def _damaged_progress(run):
    """The earlier run's folder, with a progress.json that is not JSON."""
    (run / "progress.json").write_text("{not json")
    return run


def _stsb_dir(tmp):
    """An STS-B folder whose dev.tsv has a score that is not a number."""
    _write(tmp / "STS-B" / "dev.tsv",
           "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\t"
           "sentence2\tscore\n0\tmain\tf\t2012\t1\tnone\tnone\ta man\ta dog\thigh\n")
    return str(tmp / "STS-B")


# id -> function(tiny, tmp) giving the argv; `tmp` is a scratch folder for broken files.
CASES = {
    "unknown flag": lambda t, tmp: t.argv("--EPOCHS", "3"),
    # What "$UNSET_VARIABLE" gives: not "flag not given" (the embedded MiniLM, no task config).
    "empty --BERT_CONFIG_PATH": lambda t, tmp: _replace(t.argv(), "--BERT_CONFIG_PATH", ""),
    "empty --CHECKPOINT_PATH": lambda t, tmp: _replace(t.argv(), "--CHECKPOINT_PATH", ""),
    "empty --VOCAB_PATH": lambda t, tmp: _replace(_eval(t), "--VOCAB_PATH", ""),
    "empty --DATA_DIR": lambda t, tmp: _replace(t.argv(), "--DATA_DIR", ""),
    "blank --TASK_CONFIG_PATH": lambda t, tmp: _replace(t.argv(), "--TASK_CONFIG_PATH", " "),
    "missing --TASK": lambda t, tmp: t.argv()[2:],
    "unknown task": lambda t, tmp: _replace(t.argv(), "--TASK", "mrcp"),
    "BATCH_SIZE 0": lambda t, tmp: _replace(t.argv(), "--BATCH_SIZE", "0"),
    "BATCH_SIZE not a number": lambda t, tmp: _replace(t.argv(), "--BATCH_SIZE", "sixteen"),
    "EPOCH negative": lambda t, tmp: _replace(t.argv(), "--EPOCH", "-1"),
    "LR_BERT negative": lambda t, tmp: _replace(t.argv(), "--LR_BERT", "-0.00002"),
    "LAMBDA NaN": lambda t, tmp: _replace(t.argv(), "--LAMBDA", "nan"),
    "LR_SOFT_EXTRACT infinite": lambda t, tmp: _replace(t.argv(), "--LR_SOFT_EXTRACT", "inf"),
    "EVAL_ONLY with PREDICT_ONLY": lambda t, tmp: _eval(t, "--PREDICT_ONLY"),
    "PRED_GLUE without PREDICT_ONLY": lambda t, tmp: t.argv("--PRED_GLUE"),
    "MODEL_FORMAT unknown": lambda t, tmp: t.argv("--MODEL_FORMAT", "PT"),
    "RESUME with EVAL_ONLY": lambda t, tmp: _eval(t, "--RESUME"),
    "RESUME with multi_worker": lambda t, tmp: t.argv("--RESUME", "--DISTRIBUTE", "multi_worker"),
    "DISTRIBUTE unknown": lambda t, tmp: t.argv("--DISTRIBUTE", "tpu"),
    "RETENTION_CONFIG in training": lambda t, tmp: t.argv("--RETENTION_CONFIG", "24,12"),
    "RETENTION_CONFIG not integers": lambda t, tmp: _eval(t, "--RETENTION_CONFIG", "24,half"),
    "RETENTION_CONFIG wrong count": lambda t, tmp: _eval(t, "--RETENTION_CONFIG", "24,12,6"),
    "RETENTION_CONFIG increasing": lambda t, tmp: _eval(t, "--RETENTION_CONFIG", "12,24"),
    "RETENTION_CONFIG above seq_len": lambda t, tmp: _eval(t, "--RETENTION_CONFIG", "25,12"),
    "RETENTION_CONFIG zero": lambda t, tmp: _eval(t, "--RETENTION_CONFIG", "24,0"),
    "BERT config missing": lambda t, tmp: _replace(t.argv(), "--BERT_CONFIG_PATH",
                                                   str(tmp / "nope.json")),
    "BERT config not JSON": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH", _write(tmp / "c.json", "{'hidden_size': 16,")),
    "BERT config lacks a key": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH",
        _write(tmp / "c.json", json.dumps({"hidden_size": 16, "num_hidden_layers": 2}))),
    "BERT config heads do not divide H": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH", _config_with(t, tmp, num_attention_heads=3)),
    "BERT config size as a string": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH", _config_with(t, tmp, hidden_size="16")),
    "BERT config dropout of 1": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH", _config_with(t, tmp, hidden_dropout_prob=1.0)),
    "BERT config block count not whole": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH", _config_with(t, tmp, num_hidden_layers=2.5)),
    "checkpoint missing": lambda t, tmp: _replace(t.argv(), "--CHECKPOINT_PATH",
                                                  str(tmp / "bert_model.ckpt")),
    "checkpoint given as its .index file": lambda t, tmp: _replace(
        t.argv(), "--CHECKPOINT_PATH", f"{t.checkpoint}.index"),
    "checkpoint given as its folder": lambda t, tmp: _replace(
        t.argv(), "--CHECKPOINT_PATH", str(t.checkpoint.parent)),
    "checkpoint without its data file": lambda t, tmp: _replace(
        t.argv(), "--CHECKPOINT_PATH", _index_only(t, tmp)),
    "HDF5 format for a text file": lambda t, tmp: _replace(
        t.argv("--MODEL_FORMAT", "HDF5"), "--CHECKPOINT_PATH", _write(tmp / "m.hdf5", "hi")),
    "HDF5 without Keras weights": lambda t, tmp: _replace(
        t.argv(), "--CHECKPOINT_PATH", _empty_hdf5(tmp)),
    "CKPT format for an HDF5 file": lambda t, tmp: _replace(
        t.argv("--MODEL_FORMAT", "CKPT"), "--CHECKPOINT_PATH", _empty_hdf5(tmp)),
    "checkpoint wider than the config": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH",
        _config_with(t, tmp, hidden_size=32, num_attention_heads=2)),
    "checkpoint with fewer blocks than the config": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH", _config_with(t, tmp, num_hidden_layers=3)),
    "checkpoint with more blocks than the config": lambda t, tmp: _replace(
        t.argv(), "--BERT_CONFIG_PATH", _config_with(t, tmp, num_hidden_layers=1)),
    "seq_len beyond the position table": lambda t, tmp: _replace(
        t.argv(), "--TASK_CONFIG_PATH", _write(tmp / "t.json", '{"mrpc": {"seq_len": 40}}')),
    "pre-trained checkpoint to EVAL_ONLY": lambda t, tmp: _eval(t),
    "pre-trained checkpoint to PREDICT_ONLY": lambda t, tmp: t.argv("--PREDICT_ONLY"),
    "vocab missing": lambda t, tmp: _replace(t.argv(), "--VOCAB_PATH", str(tmp / "vocab.txt")),
    "vocab without [CLS]": lambda t, tmp: _replace(
        t.argv(), "--VOCAB_PATH",
        _write(tmp / "v.txt", t.vocab.read_text().replace("[CLS]\n", "cls\n"))),
    "vocab larger than the model's": lambda t, tmp: _replace(
        t.argv(), "--VOCAB_PATH", _write(tmp / "v.txt", t.vocab.read_text() + "extra\n")),
    "vocab not UTF-8": lambda t, tmp: _replace(
        t.argv(), "--VOCAB_PATH", _write(tmp / "v.txt", b"[PAD]\n\xff\xfe\n")),
    "SentencePiece model that is not one": lambda t, tmp: _replace(
        t.argv(), "--VOCAB_PATH", _write(tmp / "30k-clean.model", b"\x00garbage")),
    "DATA_DIR missing": lambda t, tmp: _replace(t.argv(), "--DATA_DIR", str(tmp / "MRPC")),
    "DATA_DIR a symbolic link loop": lambda t, tmp: _replace(t.argv(), "--DATA_DIR",
                                                             _link_loop(tmp)),
    "test.tsv a folder": lambda t, tmp: _replace(
        t.argv("--PREDICT_ONLY"), "--DATA_DIR", str(_folder(tmp / "foldered" / "test.tsv").parent)),
    "test.tsv a broken link": lambda t, tmp: _replace(
        t.argv("--PREDICT_ONLY"), "--DATA_DIR", _broken_test_tsv(tmp)),
    "dev.tsv missing for training": lambda t, tmp: _replace(
        t.argv(), "--DATA_DIR", _data_dir_of(t, tmp, "train")),
    "test.tsv missing for PREDICT_ONLY": lambda t, tmp: _replace(
        t.argv("--PREDICT_ONLY"), "--DATA_DIR", _data_dir_of(t, tmp, "train", "dev")),
    "row with too few columns": lambda t, tmp: _replace(
        t.argv(), "--DATA_DIR",
        _data_dir_with(t, tmp, "dev", _mrpc_header(t) + "1\t2\t3\tonly one\n")),
    "label outside the task's set": lambda t, tmp: _replace(
        t.argv(), "--DATA_DIR", _data_dir_with(t, tmp, "train",
                                               _mrpc_header(t) + "yes\t1\t2\ta b\tc d\n")),
    "bytes that are not UTF-8": lambda t, tmp: _replace(
        t.argv(), "--DATA_DIR", _data_dir_with(t, tmp, "train", _mrpc_header(t).encode()
                                               + b"1\t1\t2\ta \xe9t\xe9\tc\n")),
    "file with no examples": lambda t, tmp: _replace(
        t.argv(), "--DATA_DIR", _data_dir_with(t, tmp, "dev", _mrpc_header(t))),
    "STS-B score not a number": lambda t, tmp: _replace(
        _replace(_eval(t), "--TASK", "sts-b"), "--DATA_DIR", _stsb_dir(tmp)),
    "TASK_CONFIG_PATH not JSON": lambda t, tmp: _replace(
        t.argv(), "--TASK_CONFIG_PATH", _write(tmp / "t.json", "mrpc: 24")),
    "TASK_CONFIG_PATH seq_len too small": lambda t, tmp: _replace(
        t.argv(), "--TASK_CONFIG_PATH", _write(tmp / "t.json", '{"mrpc": {"seq_len": 2}}')),
}

# Cases about OUTPUT_DIR itself: function(tiny, tmp, earlier_run_dir) -> argv.
OUTPUT_CASES = {
    "OUTPUT_DIR is a file": lambda t, tmp, run: t.argv(out=_write(tmp / "out.txt", "x")),
    "OUTPUT_DIR inside a file": lambda t, tmp, run: t.argv(out=_write(tmp / "f", "x") + "/out"),
    "new training over an earlier run": lambda t, tmp, run: t.argv(out=run),
    "RESUME with nothing to resume": lambda t, tmp, run: t.argv("--RESUME", out=tmp / "new"),
    "RESUME with other arguments": lambda t, tmp, run: t.argv("--RESUME", out=run),
    "RESUME with a damaged progress.json": lambda t, tmp, run: t.argv(
        "--RESUME", out=_damaged_progress(run)),
    "OUTPUT_DIR empty": lambda t, tmp, run: _replace(t.argv(), "--OUTPUT_DIR", ""),
    "training with log_file.txt a folder": lambda t, tmp, run: t.argv(out=_log_folder(tmp)),
    "EVAL_ONLY with log_file.txt a folder": lambda t, tmp, run: _eval(t, "--OUTPUT_DIR",
                                                                      _log_folder(tmp)),
    "PREDICT_ONLY with prediction.txt a folder": lambda t, tmp, run: t.argv(
        "--PREDICT_ONLY", out=_folder(tmp / "out" / "prediction.txt").parent),
    "PRED_GLUE with MRPC.tsv a folder": lambda t, tmp, run: t.argv(
        "--PREDICT_ONLY", "--PRED_GLUE", out=_folder(tmp / "out" / "MRPC.tsv").parent),
    "training with a plot's name a folder": lambda t, tmp, run: t.argv(
        out=_folder(tmp / "out" / "surviving_words.png").parent),
}


def _snapshot(root):
    """Every file and folder under `root`: (size, mtime, content hash); None if absent."""
    if not root.exists():
        return None
    return {str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns,
                                          path.is_file() and hashlib.sha256(
                                              path.read_bytes()).hexdigest())
            for path in sorted(root.rglob("*"))}


@pytest.fixture
def earlier_run(tmp_path):
    """An OUTPUT_DIR holding the outputs of an earlier (finished) training run."""
    out = tmp_path / "earlier_run"
    out.mkdir()
    (out / "log_file.txt").write_text("Arguments: --TASK=mrpc\nRetention Configuration : [24, 9]\n")
    (out / "progress.json").write_text(json.dumps(
        {"arguments": {"TASK": "mrpc", "EPOCH": 3}, "steps": {}}))
    for name in (steps.FINETUNE, steps.SEARCH, steps.RETRAINED):
        with h5py.File(out / name, "w") as f:
            f.create_dataset("weights", data=np.arange(6.0))
    return out


def _assert_one_clean_error(capsys):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
@pytest.mark.parametrize("output_dir", ["absent", "earlier run"])
def test_wrong_input_gives_one_line_exit_2_and_leaves_output_dir_alone(
        case, output_dir, tiny, tmp_path, earlier_run, capsys):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    out = earlier_run if output_dir == "earlier run" else tmp_path / "absent"
    argv = _replace(CASES[case](tiny, scratch), "--OUTPUT_DIR", str(out))
    before = _snapshot(out)
    assert main.main(argv) == 2
    _assert_one_clean_error(capsys)
    assert _snapshot(out) == before


@pytest.mark.parametrize("case", OUTPUT_CASES, ids=list(OUTPUT_CASES))
def test_wrong_output_dir_gives_one_line_exit_2_and_changes_nothing(case, tiny, tmp_path,
                                                                     earlier_run, capsys):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    argv = OUTPUT_CASES[case](tiny, scratch, earlier_run)
    before = {root: _snapshot(root) for root in (scratch, earlier_run)}
    assert main.main([str(a) for a in argv]) == 2
    line = _assert_one_clean_error(capsys)
    assert {root: _snapshot(root) for root in (scratch, earlier_run)} == before
    assert OUTPUT_MESSAGES.get(case, "") in line


OUTPUT_MESSAGES = {
    "RESUME with other arguments": "EPOCH 3 then, 1 now",
    "OUTPUT_DIR empty": "--OUTPUT_DIR is empty (an unset shell variable?); give a path",
    "training with log_file.txt a folder": "log_file.txt cannot be appended to (it is a folder)",
    "EVAL_ONLY with log_file.txt a folder": "log_file.txt cannot be appended to (it is a folder)",
    "PREDICT_ONLY with prediction.txt a folder": "holds a folder named prediction.txt",
    "PRED_GLUE with MRPC.tsv a folder": "holds a folder named MRPC.tsv",
    "training with a plot's name a folder": "holds a folder named surviving_words.png",
}


@pytest.mark.parametrize("tf_config", [None, "worker0", '{"cluster": {"worker": ["a:1"]}}',
                                       '{"cluster": {"worker": ["a:1"]}, '
                                       '"task": {"type": "worker", "index": 1}}'])
def test_multi_worker_needs_a_valid_tf_config(tf_config, tiny, monkeypatch, capsys):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert main.main(tiny.argv("--DISTRIBUTE", "multi_worker")) == 2
    assert "TF_CONFIG" in _assert_one_clean_error(capsys)
    assert not tiny.out.exists()


def test_messages_name_the_file_and_line_and_the_fix(tiny, tmp_path, capsys):
    """A sample of messages: each says what is wrong, where, and what to do."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    expectations = {
        "label outside the task's set": ["train.tsv, line 2", "'yes'", "fix the row"],
        "pre-trained checkpoint to EVAL_ONLY": [
            "has no classifier (output_weights/NSP): evaluate a fine-tuned checkpoint or "
            "retrained.hdf5"],
        "checkpoint given as its .index file": ["give the prefix, e.g. " + str(tiny.checkpoint)],
        "checkpoint given as its folder": ["give the prefix, e.g. " + str(tiny.checkpoint)],
        "CKPT format for an HDF5 file": ["--MODEL_FORMAT HDF5"],
        "vocab without [CLS]": ["lacks [CLS]"],
        # Both sizes and both files: the vocab as given, the config by its flag and path.
        "vocab larger than the model's": [
            f"{scratch / 'v.txt'} has {_vocab_lines(tiny) + 1} entries",
            f"--BERT_CONFIG_PATH {tiny.config} has vocab_size {_vocab_lines(tiny)}"],
        "empty --BERT_CONFIG_PATH": [
            "--BERT_CONFIG_PATH is empty (an unset shell variable?); give a path or leave the "
            "flag out"],
        "empty --DATA_DIR": ["--DATA_DIR is empty (an unset shell variable?); give a path"],
        "DATA_DIR a symbolic link loop": [
            f"--DATA_DIR {scratch / 'loop'} is a symbolic link loop", "point it at the folder"],
        "test.tsv a folder": [
            f"{scratch / 'foldered' / 'test.tsv'} is a folder, not the test file"],
        "test.tsv a broken link": [
            f"{scratch / 'linked' / 'test.tsv'} is a symbolic link that leads nowhere or in a loop "
            f"(to {scratch / 'moved.tsv'})"],
        "BERT config dropout of 1": [
            "hidden_dropout_prob is 1.0, but it must be a number from 0 up to (not including) 1"],
    }
    for case, parts in expectations.items():
        argv = _replace(CASES[case](tiny, scratch), "--OUTPUT_DIR", str(tmp_path / "out"))
        assert main.main(argv) == 2
        line = _assert_one_clean_error(capsys)
        for part in parts:
            assert part in line, (case, line)


@pytest.mark.parametrize("field, value, allowed", [
    ("vocab_size", "30522", "a whole number from 1 to 2147483647"),
    ("hidden_size", 16.0, "a whole number"),
    ("num_hidden_layers", True, "a whole number"),
    ("intermediate_size", 2 ** 40, "a whole number from 1 to 2147483647"),
    ("max_position_embeddings", None, "a whole number"),
    ("embedding_size", 0, "a whole number from 1"),
    ("num_hidden_groups", -1, "a whole number from 1"),
    ("hidden_dropout_prob", 1.0, "a number from 0 up to (not including) 1"),
    ("attention_probs_dropout_prob", -0.1, "a number from 0 up to (not including) 1"),
    ("attention_probs_dropout_prob", float("nan"), "a number from 0 up to (not including) 1"),
    ("initializer_range", "0.02", "a number >= 0"),
    ("initializer_range", float("inf"), "a number >= 0"),
    ("hidden_act", ["gelu"], "one of gelu, gelu_new"),
])
def test_every_bert_config_field_is_checked_for_type_and_range(tiny, tmp_path, field, value,
                                                                 allowed):
    path = _config_with(tiny, tmp_path, **{field: value})
    with pytest.raises(UserError) as error:
        load_config(path)
    assert f"{path}: {field} is {json.dumps(value)}, but it must be {allowed}" in str(error.value)


def _vocab_lines(tiny):
    return len(tiny.vocab.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("dropped", [0, 1])
def test_vocab_smaller_than_the_model_is_a_warning_in_the_log(tiny, tmp_path, dropped):
    """Some models pad their embedding table beyond their vocabulary: a warning, not an error;
    a vocabulary that fits (the tiny model's own) gives none."""
    config = BertConfig(**json.loads(tiny.config.read_text()))
    write_google_checkpoint(tmp_path / "ckpt" / "model.ckpt", random_variables(config, 2))
    lines = tiny.vocab.read_text(encoding="utf-8").splitlines()
    vocab = _write(tmp_path / "vocab.txt", "\n".join(lines[:len(lines) - dropped]) + "\n")
    out = tmp_path / "out"
    argv = _replace(_replace(_eval(tiny, "--OUTPUT_DIR", str(out)), "--VOCAB_PATH", vocab),
                    "--CHECKPOINT_PATH", str(tmp_path / "ckpt" / "model.ckpt"))
    assert main.main(argv) == 0
    warnings = [line for line in (out / "log_file.txt").read_text().splitlines()
                if line.startswith("warning:") and "vocab" in line]
    if dropped:
        assert len(warnings) == 1, warnings
        assert f"{vocab} has {config.vocab_size - dropped} entries" in warnings[0]
        assert f"{tiny.config} has vocab_size {config.vocab_size}" in warnings[0]
    else:
        assert warnings == []


def test_qqp_short_rows_are_skipped_and_reported(tiny, tmp_path, capsys):
    """GLUE's own QQP files have short rows: skipped, counted in the log; no silent loss."""
    config = BertConfig(**json.loads(tiny.config.read_text()))
    write_google_checkpoint(tmp_path / "ckpt" / "model.ckpt", random_variables(config, 2))
    rows = ["id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
            "0\t1\t2\twhat is a dog\twhat is a cat\t0",
            "1\t3\t4\twhy is the sky blue",  # broken by a stray newline, as in GLUE
            "2\t5\t6\thow old is he\thow old is she\t1"]
    _write(tmp_path / "QQP" / "dev.tsv", "\n".join(rows) + "\n")
    out = tmp_path / "out"
    argv = _replace(_replace(_replace(_eval(tiny), "--TASK", "qqp"), "--DATA_DIR",
                             str(tmp_path / "QQP")), "--CHECKPOINT_PATH",
                    str(tmp_path / "ckpt" / "model.ckpt"))
    assert main.main(_replace(argv, "--OUTPUT_DIR", str(out))) == 0
    log = (out / "log_file.txt").read_text()
    assert f"skipped 1 short rows of {tmp_path / 'QQP' / 'dev.tsv'}" in log
    assert "dev metrics over all 2 examples" in log
    capsys.readouterr()


@pytest.fixture(scope="module")
def interrupted_run(tiny, tmp_path_factory):
    """A real training run of `tiny`, stopped (as by Ctrl-C) once steps 1 and 2 are done: its
    finetune.hdf5 and configuration_search_model.hdf5 record task mrpc, 2 classes."""
    out = tmp_path_factory.mktemp("interrupted") / "out"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(steps, "retrain", interrupted)
        assert main.main(tiny.argv(out=out)) == 130
    assert sorted(p.name for p in out.iterdir()) == [
        steps.SEARCH, steps.FINETUNE, "log_file.txt", "progress.json"]
    return out


@pytest.fixture(scope="module")
def finetuned(tiny, tmp_path_factory):
    """finetune.hdf5 as step 1 writes it for `tiny` (task mrpc, seq_len 24, 2 classes), its
    weights not trained: the checks of a model run for another task read only its record and
    its classifier, so they need no training run (`interrupted_run`)."""
    path = tmp_path_factory.mktemp("finetuned") / steps.FINETUNE
    write_hdf5_weights(path, build_model(load_config(str(tiny.config)), 24, 2),
                       model_record(dataclasses.replace(get_task("mrpc"), seq_len=24),
                                    RetentionConfiguration()))
    return path


def _truncated(path):
    """Cuts a file in half, as a full disk or an interrupted copy leaves it."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def _edit_progress(out, change):
    record = json.loads((out / "progress.json").read_text())
    change(record)
    (out / "progress.json").write_text(json.dumps(record))


# id -> (function(copy of the interrupted run's OUTPUT_DIR) that damages it, what the line says)
DAMAGED_RESUME_STATE = {
    "finetune.hdf5 cut in half": (
        lambda out: _truncated(out / steps.FINETUNE),
        ["finetune.hdf5 is damaged (", "delete it and run again with --RESUME, which redoes "
         "that step (fine-tuning)"]),
    "configuration_search_model.hdf5 cut in half": (
        lambda out: _truncated(out / steps.SEARCH),
        ["configuration_search_model.hdf5 is damaged (", "delete it and run again with --RESUME"]),
    "progress.json not JSON": (
        lambda out: (out / "progress.json").write_text('{"arguments": {'),
        ["progress.json is unreadable", "delete the run's files"]),
    "progress.json arguments not an object": (
        lambda out: _edit_progress(out, lambda r: r.update(arguments=["mrpc"])),
        ["progress.json is not a progress record of this program"]),
    "progress.json with an unknown step": (
        lambda out: _edit_progress(out, lambda r: r["steps"].update({"fine-tune": {}})),
        ["progress.json records a step 'fine-tune', which this program does not have"]),
    "progress.json retention configuration of the wrong length": (
        lambda out: _edit_progress(out, lambda r: r["steps"].update(
            {"configuration search": [24, 12, 6]})),
        ["progress.json does not fit this run: its retention configuration [24, 12, 6] is not "
         "2 non-increasing word counts up to seq_len 24",
         "configuration_search_model.hdf5 and run again with --RESUME"]),
    "progress.json retention configuration of the wrong type": (
        lambda out: _edit_progress(out, lambda r: r["steps"].update(
            {"configuration search": "24,12"})),
        ["its retention configuration \"24,12\" is not 2 non-increasing"]),
    "progress.json fine-tuning results not metrics": (
        lambda out: _edit_progress(out, lambda r: r["steps"].update({"fine-tuning": "good"})),
        ["its fine-tuning results \"good\" are not dev metrics",
         "finetune.hdf5 and run again with --RESUME"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", DAMAGED_RESUME_STATE, ids=list(DAMAGED_RESUME_STATE))
def test_resume_over_damaged_state_is_one_line_before_anything_is_written(
        case, tiny, interrupted_run, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(interrupted_run, out)
    damage, parts = DAMAGED_RESUME_STATE[case]
    damage(out)
    before = _snapshot(out)
    assert main.main(tiny.argv("--RESUME", out=out)) == 2
    line = _assert_one_clean_error(capsys)
    assert _snapshot(out) == before  # log_file.txt included
    for part in parts:
        assert part in line, line
    assert "--RETENTION_CONFIG" not in line  # a flag this run was not given


def _stsb_dev(tmp):
    """An STS-B folder whose dev.tsv holds two real-looking rows."""
    header = ("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\t"
              "sentence2\tscore\n")
    _write(tmp / "STS-B" / "dev.tsv", header + "0\tmain\tf\t2012\t1\tnone\tnone\tthe company\t"
           "the shares\t3.2\n1\tmain\tf\t2012\t2\tnone\tnone\tit said\the said\t4.0\n")
    return str(tmp / "STS-B")


def _other_task(tiny, tmp, checkpoint, task, *mode):
    """`tiny`'s argv running `checkpoint` (a model trained for mrpc) for `task`."""
    task_config = _write(tmp / "task_config.json", json.dumps({task: {"seq_len": 24}}))
    argv = _replace(_replace(tiny.argv(*mode, "--MODEL_FORMAT", "HDF5"), "--TASK", task),
                    "--CHECKPOINT_PATH", str(checkpoint))
    return _replace(argv, "--TASK_CONFIG_PATH", task_config)


def _without_record(path, tmp):
    """A copy of an .hdf5 of ours without its power_bert record, as the original writes them."""
    copy = tmp / "original.hdf5"
    shutil.copy(path, copy)
    with h5py.File(copy, "r+") as f:
        del f.attrs["power_bert"]
    return copy


@pytest.mark.parametrize("mode", ["--PREDICT_ONLY", "--EVAL_ONLY"])
@pytest.mark.parametrize("task, words", [
    ("mnli-m", "--TASK mnli-m has 3 classes"),
    ("sts-b", "--TASK sts-b has one score (a regression, as sts-b)")])
def test_a_model_of_another_task_is_one_line_naming_both_tasks(
        mode, task, words, tiny, finetuned, tmp_path, capsys):
    out = tmp_path / "out"
    argv = _other_task(tiny, tmp_path, finetuned, task, mode)
    assert main.main(argv + ["--OUTPUT_DIR", str(out)]) == 2
    line = _assert_one_clean_error(capsys)
    assert f"finetune.hdf5 was trained for mrpc with 2 classes, but {words}: give --TASK " \
           "mrpc" in line, line
    assert not out.exists()


def test_a_classifier_of_another_class_count_without_a_record_is_one_line(
        tiny, finetuned, tmp_path, capsys):
    """The original's .hdf5 files record no task: the classifier's shape tells."""
    out = tmp_path / "out"
    argv = _other_task(tiny, tmp_path, _without_record(finetuned, tmp_path),
                       "sts-b", "--EVAL_ONLY")
    argv = _replace(_replace(argv, "--DATA_DIR", _stsb_dev(tmp_path)), "--OUTPUT_DIR", str(out))
    assert main.main(argv) == 2
    line = _assert_one_clean_error(capsys)
    assert ("the checkpoint's classifier (layer NSP) has 2 classes, but the model for --TASK "
            "has one score (a regression, as sts-b)") in line, line
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["--PREDICT_ONLY", "--EVAL_ONLY"])
def test_a_damaged_hdf5_checkpoint_is_one_line(mode, tiny, interrupted_run, tmp_path, capsys):
    checkpoint = tmp_path / "model.hdf5"
    shutil.copy(interrupted_run / steps.FINETUNE, checkpoint)
    _truncated(checkpoint)
    argv = _replace(tiny.argv(mode, "--MODEL_FORMAT", "HDF5"), "--CHECKPOINT_PATH",
                    str(checkpoint))
    assert main.main(argv + ["--OUTPUT_DIR", str(tmp_path / "out")]) == 2
    line = _assert_one_clean_error(capsys)
    assert f"{checkpoint} is damaged (" in line and "truncated" in line, line
    assert "save or copy it again" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_export_of_a_damaged_hdf5_is_one_line(tiny, interrupted_run, tmp_path, capsys):
    checkpoint = _truncated(Path(shutil.copy(interrupted_run / steps.FINETUNE,
                                             tmp_path / "model.hdf5")))
    assert export.main([str(tmp_path / "saved"), "--TASK", "mrpc", "--CHECKPOINT_PATH",
                        str(checkpoint), "--BERT_CONFIG_PATH", str(tiny.config),
                        "--VOCAB_PATH", str(tiny.vocab)]) == 2
    line = _assert_one_clean_error(capsys)
    assert f"{checkpoint} is damaged (" in line and "--CHECKPOINT_PATH" in line, line
    assert not (tmp_path / "saved").exists()
