"""A trained PoWER-BERT as a TensorFlow SavedModel that takes raw sentences, or as ONNX.

    python -m deploy.export --TASK mrpc --CHECKPOINT_PATH retrained.hdf5 [...] OUT_DIR
    python -m deploy.export --FORMAT onnx [--QUANTIZE int8 --DATA_DIR D] [...] OUT_DIR

The task's and the model's flags are main.py's, declared once for both (`runs.model_flags`);
the model is set up as main.py's --PREDICT_ONLY sets it up (`runs.model_setup`). The
SavedModel (`deploy.saved_model`) takes `text_a` and `text_b` and returns `probabilities`
[batch, classes], or `score` [batch, 1] for STS-B; beside it power_bert.json (task, seq_len,
labels). Loading it needs TensorFlow and `import tensorflow_text` (which registers the
tokenizer's ops), nothing of this repository:
`tf.saved_model.load(OUT_DIR).signatures["serving_default"]`, or TensorFlow Serving.

`--FORMAT onnx` writes OUT_DIR/model.onnx for ONNX Runtime (`deploy.onnx_graph`): inputs
`input_ids`, `token_type_ids`, `attention_mask` (int64 [batch, n], a batch padded to its
longest row), the same output; beside it vocab.txt and power_bert.json (task, seq_len, labels,
retention configuration). Running it needs `onnxruntime` and `numpy` only. `--QUANTIZE int8`
quantizes it (int8 dynamic quantization) and prints what that costs on DATA_DIR's dev rows.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

from errors import ORIGINAL_FLAGS, UserError, exit_code, import_tensorflow_quietly  # noqa: E402
from runs.model_flags import (MODEL_PATH_FLAGS, Parser, add_model_flags,  # noqa: E402
                              check_path_flags)

# The inputs this command line takes with the original's flags (it has no mode flag; its
# --DATA_DIR only scores --QUANTIZE).
FLAGS = {name: ORIGINAL_FLAGS[name] for name in (
    "bert_config", "checkpoint", "data_dir", "model_format", "retention", "retention_mode",
    "task", "task_config")}


def parse_args(argv):
    """The flags of `argv` (the export's arguments, without the program name), the paths
    among them checked for being empty."""
    p = Parser(prog="python -m deploy.export", description=__doc__.splitlines()[0])
    p.add_argument("OUT_DIR", help="the folder to create (must not exist)")
    p.add_argument("--FORMAT", type=str.lower, choices=("saved_model", "onnx"),
                   default="saved_model",
                   help="saved_model (TensorFlow, takes raw sentences; the default) or onnx "
                        "(ONNX Runtime, takes token ids)")
    p.add_argument("--QUANTIZE", type=str.lower, choices=("int8",),
                   help="ONNX only: int8 dynamic quantization, its cost measured on "
                        "--DATA_DIR's dev rows")
    p.add_argument("--DATA_DIR", help="the task's GLUE folder, whose dev rows measure what "
                                      "--QUANTIZE costs")
    add_model_flags(p, trained_checkpoint=True)
    args = p.parse_args(argv)
    check_path_flags(args, MODEL_PATH_FLAGS + ("DATA_DIR",), required=("CHECKPOINT_PATH",))
    return args


def export(args):
    """Checks every input, then writes the SavedModel or the ONNX model to OUT_DIR
    (atomically)."""
    if os.path.lexists(args.OUT_DIR):
        raise UserError(f"OUT_DIR {args.OUT_DIR} exists already; give a new folder (the "
                        "export is written whole, or not at all)")
    if args.QUANTIZE and args.FORMAT != "onnx":
        raise UserError(f"--QUANTIZE {args.QUANTIZE} applies to --FORMAT onnx only; add "
                        "--FORMAT onnx, or leave --QUANTIZE out")
    if args.QUANTIZE and not args.DATA_DIR:
        raise UserError(f"--QUANTIZE {args.QUANTIZE} needs --DATA_DIR, the task's GLUE folder: "
                        "the export measures what quantization costs on its dev rows")
    # Loaded now with its start-up log kept off stderr, so that an error is one line there.
    import_tensorflow_quietly()

    from data.glue import is_pair_task
    from deploy import onnx_export, saved_model
    from runs.model_setup import set_up_model

    setup = set_up_model(args, with_retention=True)
    task = setup.task
    if args.FORMAT == "onnx" and setup.bert_config.is_albert:
        raise UserError("exporting an ALBERT model to ONNX is not supported: its shared blocks "
                        "are not written; export a BERT model")
    if args.FORMAT == "saved_model":
        # Before the model is loaded: the tokenizer may be one the SavedModel cannot hold.
        table, featurize = saved_model.featurizer(setup.tokenizer, task.seq_len, setup.cased,
                                                  is_pair_task(task))
    model = setup.build_classifier("export")
    if args.FORMAT == "onnx":
        lines = onnx_export.write_onnx_export(args.OUT_DIR, model, setup, args.QUANTIZE,
                                              args.DATA_DIR)
    else:
        saved_model.write_saved_model(args.OUT_DIR, model, table, featurize, task)
        lines = [f"Wrote the SavedModel of {setup.checkpoint_path} ({task.name}, seq_len "
                 f"{task.seq_len}) to {args.OUT_DIR}"]
    for line in [*setup.notes, f"Retention Configuration : {setup.retention}", *lines]:
        print(line)


def main(argv=None):
    """The command line; returns the exit status (2 and one stderr line on bad input)."""
    return exit_code(lambda: export(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags=FLAGS)


if __name__ == "__main__":
    sys.exit(main())
