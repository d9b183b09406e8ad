"""The ONNX export's folder: model.onnx, vocab.txt beside it and power_bert.json, which records
what a caller needs to feed the model (task, seq_len, labels, retention configuration)."""

import json
import os
import shutil

ONNX_NAME = "model.onnx"
VOCAB_NAME = "vocab.txt"
RECORD_NAME = "power_bert.json"


def task_record(task):
    """What an export's power_bert.json (ONNX and SavedModel) says of its task: name, seq_len,
    the labels in the order of the model's outputs, and the definition of a task of the
    user's own data (docs/own-data.md).

    Args:
        task: the `Task`.
    """
    from data.user_tasks import definition

    return {"task": task.name, "seq_len": task.seq_len, "labels": list(task.labels),
            **({"task_definition": definition(task)} if task.source is not None else {})}


def write_record(folder, record):
    """Writes `record` as power_bert.json into the export's (temporary) folder."""
    with open(os.path.join(folder, RECORD_NAME), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)


def write_onnx_export(out_dir, model, setup, quantize, data_dir):
    """Writes model.onnx, vocab.txt and power_bert.json to `out_dir` (atomically).

    Args:
        out_dir: the folder to create.
        model: the Keras model, its classifier loaded (`ModelSetup.build_classifier`).
        setup: its `ModelSetup`.
        quantize: "int8" (dynamic quantization), or None.
        data_dir: the task's GLUE folder, whose dev rows measure what `quantize` costs.

    Returns:
        The lines to print: what quantization cost, if asked, and what was written.
    """
    import onnx

    from atomic_files import folder_written_atomically
    from deploy.onnx_graph import INPUT_NAMES, build_onnx_model, output_name
    from deploy.onnx_runtime import quantize_int8

    task = setup.task
    onnx_model = build_onnx_model(model, setup.bert_config, setup.retention)
    record = {**task_record(task), **setup.retention.record(),
              "lower_case": not setup.cased, "inputs": list(INPUT_NAMES),
              "output": output_name(task.num_labels), "quantization": quantize}
    lines = []
    if quantize:
        quantized = quantize_int8(onnx_model)
        record["dev_metrics"], line = _quantization_cost(task, setup.tokenizer, data_dir,
                                                         onnx_model, quantized)
        lines.append(line)
        onnx_model = quantized
    with folder_written_atomically(out_dir) as temp:
        onnx.save(onnx_model, os.path.join(temp, ONNX_NAME))
        shutil.copyfile(setup.vocab_path, os.path.join(temp, VOCAB_NAME))
        write_record(temp, record)
    kind = "int8 " if quantize else ""
    lines.append(f"Wrote the {kind}ONNX model of {setup.checkpoint_path} ({task.name}, seq_len "
                 f"{task.seq_len}) to {os.path.join(out_dir, ONNX_NAME)}, with "
                 f"{VOCAB_NAME} and {RECORD_NAME}")
    return lines


def _quantization_cost(task, tokenizer, data_dir, fp32, int8):
    """The dev metrics of the fp32 and the int8 model, and a line that compares them.

    Returns:
        ({"fp32": metrics, "int8": metrics}, the line).
    """
    from data.features import encode, encode_labels
    from data.glue import read_examples
    from deploy.onnx_runtime import inference_session, predict
    from scoring.metrics import glue_metrics

    examples = read_examples(task, data_dir, "dev")
    features = encode(examples, tokenizer, task.seq_len)
    labels = encode_labels(examples, task)
    metrics = {name: glue_metrics(task, labels, predict(inference_session(model), features,
                                                        task.batch_size))
               for name, model in (("fp32", fp32), ("int8", int8))}
    changes = ", ".join(f"{key} {100 * metrics['fp32'][key]:.2f} -> "
                        f"{100 * metrics['int8'][key]:.2f} "
                        f"({100 * (metrics['int8'][key] - metrics['fp32'][key]):+.2f})"
                        for key in metrics["fp32"])
    return metrics, (f"int8 quantization on the {len(examples)} dev rows of {examples.path}: "
                     f"{changes}")
