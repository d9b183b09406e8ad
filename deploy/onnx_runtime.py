"""The ONNX model on ONNX Runtime: sessions, predictions in main.py's batches, and int8 dynamic
quantization."""

import numpy as np

from deploy.onnx_graph import INPUT_NAMES


def quantize_int8(model):
    """The model with int8 dynamic quantization, as Hugging Face Optimum applies it: int8
    weights, uint8 activations quantized at run time, in every matrix product and in the
    fused attention. ONNX's own Attention (which gives probabilities) stays float, its
    inputs coming from quantized products: the quantizer would take it for ONNX Runtime's,
    which shares its name.

    Args:
        model: an `onnx.ModelProto`, of `deploy.onnx_graph.build_onnx_model` or another BERT
            graph.

    Returns:
        The quantized `onnx.ModelProto`.
    """
    import logging
    import tempfile
    from pathlib import Path

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    keep = [node.name for node in model.graph.node
            if node.op_type == "Attention" and node.domain in ("", "ai.onnx")]
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder, "int8.onnx")
        # Fused operators defeat ONNX's shape inference, which the quantizer warns about for
        # every block; every tensor it quantizes is float.
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(model, target, weight_type=QuantType.QInt8, nodes_to_exclude=keep,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            logging.disable(logging.NOTSET)
        return onnx.load(target)



def inference_session(model, threads=None):
    """An ONNX Runtime CPU session with every graph optimization on.

    Args:
        model: an `onnx.ModelProto`, or the path of a .onnx file.
        threads: intra-op threads (None: ONNX Runtime's default, one per core); inter-op
            threads are 1, since the graph is one chain of operators.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    source = model if isinstance(model, str) else model.SerializeToString()
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def feeds(inputs):
    """The session's inputs from the three model inputs (token ids, segment ids, mask)."""
    return {name: np.asarray(x, np.int64) for name, x in zip(INPUT_NAMES, inputs)}


def predict(session, features, batch_size):
    """Outputs of every row of `features` in input order, in length-aware batches (rows
    sorted by length, each batch padded to its longest row), as main.py predicts.

    Args:
        session: from `inference_session`.
        features: `data.features.Features`.
        batch_size: rows per batch.

    Returns:
        (rows, classes) probabilities, or (rows, 1) scores.
    """
    from data.batches import in_input_order, inference_batches

    return in_input_order((rows, session.run(None, feeds(features.batch(rows, "batch")))[0])
                          for rows in inference_batches(features.lengths, batch_size, "batch"))
