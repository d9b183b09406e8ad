"""`python -m deploy.export --FORMAT onnx`: PoWER-BERT on ONNX Runtime (issue 22).

The reference is main.py itself: the ONNX model, loaded in a fresh process that has only
onnxruntime and numpy, must give the probabilities `main.py --PREDICT_ONLY` writes, on real
MRPC and SST-2 rows in batches of mixed lengths, for absolute, relative and full retention.
"""

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest

from data.features import encode
from data.glue import Example, read_examples
from data.tasks import get_task
from deploy import export, onnx_export, onnx_graph, onnx_runtime
from extract_layers import RetentionConfiguration
import main
from modeling.bert import build_model
from modeling.config import BertConfig
from tests.data_paths import real_data
from tests.helpers import (MINILM_LAYERS, ONNX_SERVER, real_test_rows,
                           run_outside_repository)
from tokenization import load_tokenizer

TOLERANCE = 1e-5
MRPC_ROWS = 400
SST2_ROWS = 200
# Rows per batch in the fresh process, in input order: every batch mixes lengths, unlike
# main.py's length-sorted batches.
MIXED_BATCH = 37
# The relative configuration of the exports that the tests below only read.
RELATIVE_SHARES = "0.8,0.6,0.45,0.2,0.06,0.01"

# (task, retention flags): absolute, relative (shares select it), full retention, and the
# original's mode, where padding votes and the graph pads to seq_len itself.
CASES = [("mrpc", ["--RETENTION_CONFIG", "60,40,30,20,10,5"]),
         ("mrpc", ["--RETENTION_CONFIG", "0.8,0.6,0.45,0.2,0.06,0.01"]),
         ("mrpc", []),
         ("mrpc", ["--RETENTION_CONFIG", "60,40,30,20,10,5", "--PADDING", "seq_len"]),
         ("sst-2", ["--RETENTION_CONFIG", "30,20,12,8,4,2"]),
         ("sst-2", ["--RETENTION_CONFIG", "0.9,0.7,0.5,0.3,0.2,0.1"]),
         ("sst-2", [])]


@pytest.mark.slow  # seven main.py runs and exports of MiniLM, on 1400 real rows
def test_onnx_in_a_fresh_process_gives_main_pys_predictions(tmp_path, fine_tuned_classifier):
    tokenizer = load_tokenizer(fine_tuned_classifier.vocab_path, cased=False)
    data_dirs = {"mrpc": real_test_rows("MRPC", MRPC_ROWS, tmp_path / "mrpc_data"),
                 "sst-2": real_test_rows("SST-2", SST2_ROWS, tmp_path / "sst2_data")}
    jobs = []
    for i, (name, retention) in enumerate(CASES):
        flags = ["--TASK", name, *retention, *fine_tuned_classifier.model_flags()]
        out = tmp_path / f"predict_{i}"
        assert main.main(flags + ["--DATA_DIR", str(data_dirs[name]), "--OUTPUT_DIR", str(out),
                                  "--PREDICT_ONLY", "--BATCH_SIZE", "50"]) == 0
        model_dir = tmp_path / f"onnx_{i}"
        assert export.main(flags + ["--FORMAT", "onnx", str(model_dir)]) == 0
        task = get_task(name)
        features = encode(read_examples(task, data_dirs[name], "test"), tokenizer, task.seq_len)
        np.savez(tmp_path / f"inputs_{i}.npz",
                 **{key: x.astype(np.int64) for key, x in
                    zip(onnx_graph.INPUT_NAMES, features.inputs)})
        jobs.append({"model": str(model_dir / onnx_export.ONNX_NAME),
                     "inputs": str(tmp_path / f"inputs_{i}.npz"), "batch": MIXED_BATCH,
                     "out": str(tmp_path / f"out_{i}.npy"), "want": str(out / "prediction.txt"),
                     "case": [name, *retention]})
    run_outside_repository(tmp_path, ONNX_SERVER, jobs)
    for job in jobs:
        got, want = np.load(job["out"]), np.loadtxt(job["want"], ndmin=2)
        assert got.shape == want.shape, job["case"]
        assert np.max(np.abs(got - want)) < TOLERANCE, job["case"]
    # The relative model really drops words: its outputs are not BERT's.
    assert np.max(np.abs(np.load(jobs[1]["out"]) - np.load(jobs[2]["out"]))) > 0.01


@pytest.mark.parametrize("activation,num_labels", [("gelu", 1), ("gelu_new", 3), ("relu", 2)])
def test_the_graph_gives_the_keras_models_outputs(activation, num_labels):
    """A regressor and other activations (FastGelu, Relu), on random weights and inputs of
    mixed lengths, in every mode the graph has."""
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=3,
                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=16,
                        type_vocab_size=2, hidden_act=activation)
    rng = np.random.default_rng(0)
    lengths = np.array([12, 3, 7, 9, 2, 11])
    # Padded to seq_len for Keras, as the original's mode needs; the graph gets the batch
    # padded to its longest row, and pads it to seq_len itself in that mode.
    mask = (np.arange(16)[None] < lengths[:, None]).astype(np.int32)
    inputs = [rng.integers(1, 100, mask.shape) * mask, rng.integers(0, 2, mask.shape) * mask,
              mask]
    for retention in (RetentionConfiguration([16] * 3), RetentionConfiguration([10, 6, 3]),
                      RetentionConfiguration([10, 6, 3], padding="seq_len"),
                      RetentionConfiguration([0.7, 0.4, 0.2], mode="relative")):
        model = build_model(config, 16, num_labels, retention)
        for weight in model.weights:
            weight.assign(rng.normal(0, 0.5, weight.shape).astype(np.float32))
        # Called eagerly: the same layers as predict's, without its seconds of tracing.
        want = np.asarray(model([x.astype(np.int32) for x in inputs], training=False))
        session = onnx_runtime.inference_session(
            onnx_graph.build_onnx_model(model, config, retention))
        got = session.run(None, onnx_runtime.feeds([x[:, :lengths.max()] for x in inputs]))[0]
        assert got.shape == (6, num_labels)
        assert np.max(np.abs(got - want)) < TOLERANCE, retention


@pytest.fixture(scope="module")
def relative_export(tmp_path_factory, fine_tuned_classifier):
    """MiniLM exported to ONNX at RELATIVE_SHARES, once for the tests that only read it: its
    folder, named onnx_model as docs/deployment.md's example names it."""
    model_dir = tmp_path_factory.mktemp("relative_export") / "onnx_model"
    assert export.main(["--TASK", "mrpc", "--RETENTION_CONFIG", RELATIVE_SHARES, "--FORMAT",
                        "onnx", *fine_tuned_classifier.model_flags(), str(model_dir)]) == 0
    return model_dir


def test_the_record_and_vocab_beside_the_model(relative_export, fine_tuned_classifier):
    record = json.loads((relative_export / onnx_export.RECORD_NAME).read_text(encoding="utf-8"))
    assert record["task"] == "mrpc" and record["seq_len"] == 128
    assert record["labels"] == ["0", "1"] and record["retention_mode"] == "relative"
    assert record["retention_configuration"] == [float(v) for v in RELATIVE_SHARES.split(",")]
    assert record["inputs"] == list(onnx_graph.INPUT_NAMES)
    assert record["output"] == "probabilities" and record["lower_case"] is True
    assert (relative_export / onnx_export.VOCAB_NAME).read_bytes() == \
        fine_tuned_classifier.vocab_path.read_bytes()


def _op_counts(model):
    return Counter((node.domain or "ai.onnx", node.op_type) for node in model.graph.node)


def test_every_block_is_written_in_fused_operators(tmp_path, fine_tuned_classifier):
    """BERT gets what ONNX Runtime's optimizer makes of a Hugging Face export (one
    EmbedLayerNormalization, and per block a fused Attention, two SkipLayerNormalization and
    a BiasGelu); a block that extracts keeps its fusions but takes ONNX's Attention, which
    gives the probabilities."""
    counts = {}
    for name, retention in (("bert", []), ("relative", ["--RETENTION_CONFIG", "1.0,0.6,0.5,0.2,0.1,0.05"])):
        assert export.main(["--TASK", "mrpc", *retention, "--FORMAT", "onnx",
                            *fine_tuned_classifier.model_flags(), str(tmp_path / name)]) == 0
        counts[name] = _op_counts(onnx.load(tmp_path / name / onnx_export.ONNX_NAME))
    ms = "com.microsoft"
    for name, fused_attention in (("bert", MINILM_LAYERS), ("relative", 1)):
        assert counts[name][(ms, "EmbedLayerNormalization")] == 1
        assert counts[name][(ms, "SkipLayerNormalization")] == 2 * MINILM_LAYERS
        assert counts[name][(ms, "BiasGelu")] == MINILM_LAYERS
        assert counts[name][(ms, "Attention")] == fused_attention
        assert counts[name][("ai.onnx", "Attention")] == MINILM_LAYERS - fused_attention
        assert counts[name][("ai.onnx", "LayerNormalization")] == 0
    assert counts["relative"][("ai.onnx", "TopK")] == 2 * (MINILM_LAYERS - 1)


def test_int8_prints_what_it_costs_on_dev(tmp_path, capsys, fine_tuned_classifier,
                                         relative_export):
    data_dir = tmp_path / "MRPC"
    data_dir.mkdir()
    lines = real_data("glue", "MRPC", "dev.tsv").read_bytes().splitlines(keepends=True)
    (data_dir / "dev.tsv").write_bytes(b"".join(lines[:61]))
    assert export.main(["--TASK", "mrpc", "--RETENTION_CONFIG", RELATIVE_SHARES, "--FORMAT",
                        "onnx", *fine_tuned_classifier.model_flags(), "--QUANTIZE", "int8",
                        "--DATA_DIR", str(data_dir), str(tmp_path / "int8")]) == 0
    out = capsys.readouterr().out
    assert "int8 quantization on the 60 dev rows" in out and "accuracy" in out, out
    record = json.loads((tmp_path / "int8" / onnx_export.RECORD_NAME).read_text(encoding="utf-8"))
    assert record["quantization"] == "int8" and set(record["dev_metrics"]) == {"fp32", "int8"}
    int8 = onnx.load(tmp_path / "int8" / onnx_export.ONNX_NAME)
    assert _op_counts(int8)[("ai.onnx", "MatMulInteger")] > 0
    tokenizer = load_tokenizer(fine_tuned_classifier.vocab_path, cased=False)
    features = encode(read_examples(get_task("mrpc"), data_dir, "dev"), tokenizer, 128)
    outputs = [onnx_runtime.predict(onnx_runtime.inference_session(str(folder /
                                                                   onnx_export.ONNX_NAME)),
                                  features, get_task("mrpc").batch_size)
               for folder in (relative_export, tmp_path / "int8")]
    # The test classifier amplifies small changes of the pooled vector (see conftest), so
    # how close int8 comes is measured on trained models, in benchmarks.inference. Dynamic
    # quantization scales each product by its whole batch's range: int8 outputs depend on
    # the batch, so this runs the export's batches.
    assert np.abs(outputs[0] - outputs[1]).max() > 0  # quantized
    labels = np.array([int(line.split(b"\t")[0]) for line in lines[1:61]])
    for name, output in zip(("fp32", "int8"), outputs):
        assert record["dev_metrics"][name]["accuracy"] == pytest.approx(
            np.mean(output.argmax(axis=1) == labels))


@pytest.mark.parametrize("flags,problem", [
    (["--QUANTIZE", "int8"], "--QUANTIZE int8 applies to --FORMAT onnx only"),
    (["--FORMAT", "onnx", "--QUANTIZE", "int8"], "--QUANTIZE int8 needs --DATA_DIR"),
    (["--FORMAT", "tflite"], "invalid choice"),
])
def test_bad_flags_are_one_line_and_exit_code_2(tmp_path, capsys, flags, problem):
    assert export.main([str(tmp_path / "new"), "--TASK", "mrpc", "--CHECKPOINT_PATH", "x.hdf5",
                        *flags]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and problem in err, err
    assert not (tmp_path / "new").exists()


def test_albert_to_onnx_is_refused_in_one_line(tmp_path, capsys, albert):
    assert export.main([str(tmp_path / "new"), "--TASK", "mrpc", "--CHECKPOINT_PATH", albert.ckpt,
                        "--BERT_CONFIG_PATH", albert.config_path, "--VOCAB_PATH", albert.spm,
                        "--FORMAT", "onnx"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ALBERT model to ONNX" in err, err
    assert not (tmp_path / "new").exists()


def test_the_deployment_example_runs_with_onnxruntime_and_tokenizers(
        tmp_path, fine_tuned_classifier, relative_export):
    """docs/deployment.md's Python example, as written there, on an exported model: its tokenizer
    (Hugging Face's WordPiece, from the saved vocab) gives our ids, so it prints our model's
    probabilities."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "deployment.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Deploying on ONNX Runtime"):]
    start = section.index("```python\n") + len("```python\n")
    example = section[start:section.index("\n```", start)]
    # Run beside onnx_model/, which the example names.
    printed = np.array(json.loads(run_outside_repository(tmp_path, example, [],
                                                         cwd=relative_export.parent)))
    pair = re.search(r'\("(.*?)", "(.*?)"\)', example).groups()
    tokenizer = load_tokenizer(fine_tuned_classifier.vocab_path, cased=False)
    features = encode([Example("0", *pair, None)], tokenizer, 128)
    session = onnx_runtime.inference_session(str(relative_export / onnx_export.ONNX_NAME))
    want = onnx_runtime.predict(session, features, 1)
    assert printed.shape == want.shape and np.max(np.abs(printed - want)) < TOLERANCE
