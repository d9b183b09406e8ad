"""Plain BERT on ONNX Runtime by Hugging Face Optimum's recipe, for the inference benchmark.

    python -m baselines.onnx_runtime_bert OUT_DIR

The installed MiniLM as a `transformers` BertForSequenceClassification (its classifier new),
exported by `torch.onnx`, fused by ONNX Runtime's transformer optimizer (embedding+LayerNorm,
attention, Add+LayerNorm, bias+GELU) into OUT_DIR/fp32.onnx, then dynamically quantized to
int8 into OUT_DIR/int8.onnx; OUT_DIR/fused.json counts the fused operators. Run apart from
TensorFlow: PyTorch's libraries crash a process that has loaded TensorFlow's.
"""

import json
import sys
from pathlib import Path


def export(out_dir):
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import BertForSequenceClassification

    from checkpoints.convert_hf import default_hf_dir
    import onnx

    from deploy.onnx_graph import INPUT_NAMES
    from deploy.onnx_runtime import quantize_int8

    out_dir = Path(out_dir)
    # Eager attention: the optimizer recognizes its pattern, not that of PyTorch's sdpa.
    model = BertForSequenceClassification.from_pretrained(
        default_hf_dir(), num_labels=2, attn_implementation="eager").eval()
    ids = torch.ones((2, 8), dtype=torch.long)
    exported = out_dir / "exported.onnx"
    torch.onnx.export(model, (ids, ids * 0, ids), exported, input_names=list(INPUT_NAMES),
                      output_names=["logits"], opset_version=17, dynamo=False,
                      dynamic_axes={name: {0: "batch", 1: "n"} for name in INPUT_NAMES})
    optimized = optimize_model(str(exported), model_type="bert",
                               num_heads=model.config.num_attention_heads,
                               hidden_size=model.config.hidden_size)
    optimized.save_model_to_file(str(out_dir / "fp32.onnx"))
    onnx.save(quantize_int8(optimized.model), out_dir / "int8.onnx")
    fused = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    (out_dir / "fused.json").write_text(json.dumps(fused), encoding="utf-8")


if __name__ == "__main__":
    export(sys.argv[1])
