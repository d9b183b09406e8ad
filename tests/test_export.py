"""`python -m deploy.export`: the SavedModel that takes raw sentences (issue 13).

The reference is main.py itself: the in-graph tokenization must give the ids
`data.features.encode` gives on real GLUE rows, and the SavedModel, loaded in a fresh process
that cannot import this repository, the probabilities `main.py --PREDICT_ONLY` writes.
"""

import json

import numpy as np
import pytest
import tensorflow as tf

import command_line
from data.features import encode
from data.glue import Example, is_pair_task, read_examples
from data.tasks import get_task
from deploy import export, saved_model
import main
from tests.data_paths import real_data
from tests.helpers import real_test_rows, run_outside_repository
from tokenization import load_tokenizer
from training import steps

TOLERANCE = 1e-5
MRPC_ROWS = 400
SST2_ROWS = 200

# Loads each SavedModel with TensorFlow and TensorFlow Text only, as a server would.
_SERVE = """
import importlib.util, json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  registers the tokenizer's ops
assert importlib.util.find_spec("checkpoints") is None, "the repository is importable"
for job in json.load(open(sys.argv[1], encoding="utf-8")):
    serve = tf.saved_model.load(job["model"]).signatures["serving_default"]
    outputs = serve(text_a=tf.constant(job["text_a"]), text_b=tf.constant(job["text_b"]))
    np.save(job["out"], outputs[job["output"]].numpy())
"""


@pytest.mark.parametrize("task_name,split,seq_len,truncates", [
    ("mrpc", "test", 48, True), ("mrpc", "train", 128, False), ("sst-2", "dev", 16, True),
    ("sst-2", "dev", 64, False), ("cola", "train", 64, False)])
def test_in_graph_tokenization_gives_our_ids_on_real_glue_rows(task_name, split, seq_len,
                                                                truncates, minilm_google):
    task = get_task(task_name)
    examples = read_examples(task, real_data("glue", task.glue_file.replace(".tsv", "")), split)
    tokenizer = load_tokenizer(minilm_google / "vocab.txt", cased=False)
    want = encode(examples, tokenizer, seq_len)
    _, featurize = saved_model.featurizer(tokenizer, seq_len, cased=False, pair=is_pair_task(task))
    # Single-sentence tasks get empty text_b, as a client sends them; it must be ignored.
    got = featurize(tf.constant([example.text_a for example in examples]),
                    tf.constant([example.text_b or "" for example in examples]))
    for name, ours, theirs in zip(("token ids", "segment ids", "input mask"),
                                  (want.token_ids, want.segment_ids, want.input_mask), got):
        mismatched = np.flatnonzero((ours != theirs.numpy()).any(axis=1))
        assert mismatched.size == 0, (name, [examples[i] for i in mismatched[:3]])
    if truncates:  # some rows fill the whole sequence
        assert want.input_mask.all(axis=1).sum() > len(examples) // 10


@pytest.mark.parametrize("cased", [False, True])
def test_in_graph_tokenization_gives_our_ids_on_unusual_text(cased, minilm_google):
    texts = ["Ça coûte 5€\u00a0— naïve Café!", "tab\tnew\nline\rret\x0bvt\x0cff\x00nul\ufffd",
             "zero\u200bwidth soft\u00adhyphen", "中文字符 and 한국어 かな", "ÀÉÎÕÜ ΣΊΣΥΦΟΣ straße",
             "x" * 201 + " " + "y" * 200, "$5^2 `quoted' {braces} ~tilde", "", "   "]
    tokenizer = load_tokenizer(minilm_google / "vocab.txt", cased=cased)
    want = encode([Example(str(i), text, None, None) for i, text in enumerate(texts)], tokenizer, 64)
    _, featurize = saved_model.featurizer(tokenizer, 64, cased=cased, pair=False)
    got = featurize(tf.constant(texts), tf.constant([""] * len(texts)))
    for text, ours, theirs in zip(texts, want.token_ids, got[0].numpy()):
        assert list(ours) == list(theirs), text


def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys):
    existing = tmp_path / "saved_model"
    existing.mkdir()
    for argv, problem in (([str(existing), "--TASK", "mrpc", "--CHECKPOINT_PATH", "x.hdf5"],
                           "exists already"),
                          ([str(tmp_path / "new"), "--TASK", "nope", "--CHECKPOINT_PATH", "x"],
                           "not a known task"),
                          ([str(tmp_path / "new"), "--TASK", "mrpc"], "--CHECKPOINT_PATH"),
                          # What "$UNSET_VARIABLE" gives: not "flag not given" (the embedded
                          # MiniLM's file in place of the trained model's).
                          ([str(tmp_path / "new"), "--TASK", "mrpc", "--CHECKPOINT_PATH", "x",
                            "--VOCAB_PATH", ""], "--VOCAB_PATH is empty (an unset shell "
                                                 "variable?); give a path or leave the flag out"),
                          ([str(tmp_path / "new"), "--TASK", "mrpc", "--CHECKPOINT_PATH", " "],
                           "--CHECKPOINT_PATH is empty (an unset shell variable?); give a path\n")):
        assert export.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and problem in err, err
    assert not (tmp_path / "new").exists()


def test_the_export_takes_mains_model_flags_alike(capsys):
    """The task's and the model's flags are declared once (runs.model_flags): the export parses
    each as main.py does, and both --help texts show them."""
    model_flags = ["--TASK", "mrpc", "--BERT_CONFIG_PATH", "c.json", "--CHECKPOINT_PATH", "m.h5",
                   "--VOCAB_PATH", "v.txt", "--CASED", "--TASK_CONFIG_PATH", "t.json",
                   "--MODEL_FORMAT", "hdf5", "--RETENTION_CONFIG", "0.9,0.5",
                   "--RETENTION_MODE", "relative", "--PADDING", "batch"]
    names = [flag[2:] for flag in model_flags if flag.startswith("--")]
    exported = export.parse_args(["out", *model_flags])
    run = command_line.parse_args([*model_flags, "--DATA_DIR", "d", "--OUTPUT_DIR", "o",
                                   "--EVAL_ONLY"])
    assert [getattr(exported, name) for name in names] == [getattr(run, name) for name in names]
    assert exported.MODEL_FORMAT == "HDF5" and exported.CASED
    for parse_args in (export.parse_args, command_line.parse_args):
        with pytest.raises(SystemExit) as stop:
            parse_args(["--help"])
        shown = capsys.readouterr().out
        assert stop.value.code == 0 and [name for name in names if f"--{name} " not in shown] == []


def test_a_pre_trained_checkpoint_is_refused_in_one_line(tmp_path, capsys, minilm_google):
    assert export.main([str(tmp_path / "new"), "--TASK", "mrpc",
                        "--CHECKPOINT_PATH", str(minilm_google / "bert_model.ckpt"),
                        "--BERT_CONFIG_PATH", str(minilm_google / "bert_config.json"),
                        "--VOCAB_PATH", str(minilm_google / "vocab.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("has no classifier (output_weights/NSP): export a "
                                      "fine-tuned checkpoint or retrained.hdf5") in err, err
    assert not (tmp_path / "new").exists()


def test_albert_is_refused_in_one_line(tmp_path, capsys, albert):
    """TensorFlow Text's SentencePiece splits "$900000" unlike ours, so no export is made."""
    assert export.main([str(tmp_path / "new"), "--TASK", "mrpc", "--CHECKPOINT_PATH", albert.ckpt,
                        "--BERT_CONFIG_PATH", albert.config_path, "--VOCAB_PATH",
                        albert.spm]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ALBERT" in err, err
    assert not (tmp_path / "new").exists()


def test_truncated_lengths_match_truncate_seq_pair():
    from data.features import truncate_seq_pair

    lengths = [(a, b) for a in range(12) for b in range(12)]
    for max_length in range(0, 14):
        got_a, got_b = saved_model._truncated_lengths(tf.constant([a for a, _ in lengths]),
                                                 tf.constant([b for _, b in lengths]),
                                                 max_length)
        for (a, b), ga, gb in zip(lengths, got_a.numpy(), got_b.numpy()):
            tokens_a, tokens_b = list(range(a)), list(range(b))
            truncate_seq_pair(tokens_a, tokens_b, max_length)
            assert (ga, gb) == (len(tokens_a), len(tokens_b)), (a, b, max_length)


@pytest.mark.slow
def test_saved_model_in_a_fresh_process_gives_main_pys_predictions(
        tmp_path, readme_training, fine_tuned_classifier):
    """MRPC from retrained.hdf5 (its recorded configuration), SST-2 from a Google checkpoint
    at a given one; both at sequence lengths many rows exceed."""
    sst2_config = tmp_path / "sst2_config.json"
    sst2_config.write_text('{"sst-2": {"seq_len": 16}}')
    mrpc_flags = readme_training.model_flags + [
        "--CHECKPOINT_PATH", str(readme_training.out / steps.RETRAINED), "--MODEL_FORMAT", "HDF5"]
    sst2_flags = ["--TASK", "sst-2", "--TASK_CONFIG_PATH", str(sst2_config),
                  "--RETENTION_CONFIG", "16,12,10,8,6,4", *fine_tuned_classifier.model_flags()]
    tokenizer = load_tokenizer(fine_tuned_classifier.vocab_path, cased=False)
    jobs = []
    for name, flags, task_dir, rows in (("mrpc", mrpc_flags, "MRPC", MRPC_ROWS),
                                        ("sst-2", sst2_flags, "SST-2", SST2_ROWS)):
        data_dir = real_test_rows(task_dir, rows, tmp_path / f"{name}_data")
        out = tmp_path / f"{name}_predict"
        assert main.main(flags + ["--DATA_DIR", str(data_dir), "--OUTPUT_DIR", str(out),
                                  "--PREDICT_ONLY", "--BATCH_SIZE", "50"]) == 0
        assert export.main(flags + [str(tmp_path / f"{name}_model")]) == 0
        task = get_task(name, sst2_config)
        examples = read_examples(task, data_dir, "test")
        lengths = encode(examples, tokenizer, 512).input_mask.sum(axis=1)
        assert (lengths > {"mrpc": 48, "sst-2": 16}[name]).sum() > rows // 10  # truncated
        jobs.append({"model": str(tmp_path / f"{name}_model"), "out": str(tmp_path / f"{name}.npy"),
                     "output": "probabilities", "want": str(out / "prediction.txt"),
                     "text_a": [example.text_a for example in examples],
                     "text_b": [example.text_b or "" for example in examples]})
    run_outside_repository(tmp_path, _SERVE, jobs)
    for job in jobs:
        got, want = np.load(job["out"]), np.loadtxt(job["want"], ndmin=2)
        assert got.shape == want.shape == (len(job["text_a"]), 2)
        assert np.max(np.abs(got - want)) < TOLERANCE, job["model"]


def test_a_vocab_larger_than_the_model_is_refused_in_one_line(tmp_path, capsys, minilm_google):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text((minilm_google / "vocab.txt").read_text(encoding="utf-8") + "extra\n",
                     encoding="utf-8")
    config = minilm_google / "bert_config.json"
    vocab_size = json.loads(config.read_text())["vocab_size"]
    assert export.main([str(tmp_path / "new"), "--TASK", "mrpc",
                        "--CHECKPOINT_PATH", str(minilm_google / "bert_model.ckpt"),
                        "--BERT_CONFIG_PATH", str(config), "--VOCAB_PATH", str(vocab)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and (
        f"{vocab} has {vocab_size + 1} entries, but --BERT_CONFIG_PATH {config} has vocab_size "
        f"{vocab_size}") in err, err
    assert not (tmp_path / "new").exists()
