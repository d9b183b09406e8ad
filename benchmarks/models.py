"""What the benchmarks time: the models, their compiled passes, and the task's real inputs.

One weight set serves BERT and every PoWER-BERT configuration; keras-hub's `BertBackbone` of
the same size is the peer a Keras user would otherwise pick.
"""

from pathlib import Path

from errors import UserError

_REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = _REPO.parent / "shared" / "glue" / "MRPC"

# Google's released sizes (uncased vocabulary), for random-weight models of that shape.
NAMED_SIZES = {
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072),
    "bert-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                       intermediate_size=4096),
}
MINILM = "minilm"


def load_model_spec(model, checkpoint=None, vocab=None):
    """Resolves `--model` into a config, an optional checkpoint and a vocabulary.

    Args:
        model: "minilm", a name in NAMED_SIZES, or the path of a bert_config.json.
        checkpoint: weights for a bert_config.json (None: random weights).
        vocab: the vocabulary of the inputs (None: MiniLM's uncased WordPiece vocab).

    Returns:
        (BertConfig, checkpoint path or None, vocab path).
    """
    from checkpoints.default_model import ensure_default_model
    from modeling.config import BertConfig, load_config

    default_config, default_checkpoint, default_vocab = ensure_default_model()
    if model == MINILM:
        return load_config(default_config), default_checkpoint, vocab or default_vocab
    if model in NAMED_SIZES:
        config = BertConfig(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2,
                            **NAMED_SIZES[model])
        return config, None, vocab or default_vocab
    if not model.endswith(".json"):
        raise UserError(f"--model {model!r} is neither {MINILM}, one of "
                        f"{', '.join(NAMED_SIZES)}, nor a bert_config.json")
    return load_config(model), checkpoint, vocab or default_vocab


def real_inputs(tokenizer, seq_len, data_dir=DEFAULT_DATA_DIR, task_name="mrpc", rows=None,
                split="dev", task_config=None):
    """The task's real rows of a split, tokenized and truncated to seq_len, as model inputs.

    Args:
        tokenizer: from `tokenization.load_tokenizer`.
        seq_len: the truncation limit (and the padded baseline's length).
        data_dir: the task's GLUE folder holding dev.tsv.
        task_name: the task whose dev.tsv format to read.
        rows: use only the first rows (None: all).
        split: "dev" or "test".
        task_config: a --TASK_CONFIG_PATH file, where `task_name` may be defined
            (docs/own-data.md).

    Returns:
        `data.features.Features`.
    """
    from data.features import encode
    from data.glue import read_examples
    from data.tasks import get_task

    examples = read_examples(get_task(task_name, task_config, str(data_dir)), str(data_dir),
                             split)[:rows]
    return encode(examples, tokenizer, seq_len)


def default_retentions(config, seq_len):
    """Three configurations that shrink by a constant factor per block (0.8, 0.65, 0.5)."""
    from extract_layers import RetentionConfiguration

    return [RetentionConfiguration(tuple(max(1, int(seq_len * factor ** j))
                                         for j in range(1, config.num_hidden_layers + 1)))
            for factor in (0.8, 0.65, 0.5)]


def extract_cost_retention(config, seq_len):
    """N-1, N-2, ..., N-L: every Extract layer runs, while the FLOPs barely drop.

    Timed on inputs padded to seq_len, where every block really has N vectors to cut.
    """
    from extract_layers import RetentionConfiguration

    return RetentionConfiguration(tuple(max(1, seq_len - j)
                                        for j in range(1, config.num_hidden_layers + 1)))


def build_models(config, seq_len, retentions, checkpoint=None, num_labels=2):
    """BERT and one PoWER-BERT model per retention configuration, all with the same weights.

    Args:
        config: a `BertConfig`.
        seq_len: N.
        retentions: `RetentionConfiguration`s, absolute or relative.
        checkpoint: Google checkpoint prefix or .hdf5 to load (None: BERT's random weights).
        num_labels: classes of the classifier on top.

    Returns:
        (BERT model, [PoWER-BERT models]).
    """
    from checkpoints.assign import assign_weights
    from checkpoints.load import guess_format, load_weights
    from modeling.bert import build_model

    bert = build_model(config, seq_len, num_labels)
    if checkpoint:
        load_weights(bert, checkpoint, guess_format(checkpoint), config, seq_len,
                     optional=("NSP",))
    weights = {layer.name: layer.get_weights() for layer in bert.layers if layer.weights}
    models = []
    for retention in retentions:
        model = build_model(config, seq_len, num_labels, retention)
        assign_weights(model, weights)
        models.append(model)
    return bert, models


def _compiled(forward, xla):
    """`forward(inputs)` as one `tf.function` for any batch of the three (batch, n) int32
    model inputs (see `data.features.Features.inputs`)."""
    import tensorflow as tf
    from modeling.bert import input_signature

    return tf.function(forward, input_signature=input_signature(), jit_compile=xla)


def compiled_forward(model, xla=False):
    """The model's inference pass, compiled (see `_compiled`)."""
    return _compiled(lambda inputs: model(inputs, training=False), xla)


def keras_hub_forward(config, xla=False):
    """keras-hub's `BertBackbone` of the same size (random weights), compiled like ours.

    Returns:
        The compiled pass (pooled output), or None where keras-hub is not installed or the
        model is an ALBERT (which BertBackbone cannot express).
    """
    from data.features import Features

    try:
        from keras_hub.models import BertBackbone
    except ImportError:
        return None
    if config.is_albert:
        return None
    backbone = BertBackbone(vocabulary_size=config.vocab_size,
                            num_layers=config.num_hidden_layers,
                            num_heads=config.num_attention_heads,
                            hidden_dim=config.hidden_size,
                            intermediate_dim=config.intermediate_size,
                            dropout=config.hidden_dropout_prob,
                            max_sequence_length=config.max_position_embeddings,
                            num_segments=config.type_vocab_size)

    def forward(inputs):
        named = Features(*inputs)  # keras-hub takes the inputs by name
        return backbone({"token_ids": named.token_ids, "segment_ids": named.segment_ids,
                         "padding_mask": named.input_mask}, training=False)["pooled_output"]

    return _compiled(forward, xla)


def onnx_sessions(model, config, retention, threads):
    """ONNX Runtime sessions of our exported model (`deploy.onnx_graph`): fp32, int8.

    Args:
        model: a Keras model of `build_models` (its weights are written).
        config: its `BertConfig`.
        retention: its `RetentionConfiguration` (every l_j = seq_len for BERT).
        threads: intra-op threads.
    """
    from deploy.onnx_graph import build_onnx_model
    from deploy.onnx_runtime import inference_session, quantize_int8

    fp32 = build_onnx_model(model, config, retention)
    return inference_session(fp32, threads), inference_session(quantize_int8(fp32), threads)


def optimum_onnx_bert(threads):
    """Plain BERT as a CPU user deploys it, by Hugging Face Optimum's recipe (see
    `baselines.onnx_runtime_bert`), made in a process of its own: PyTorch's libraries crash a
    process that has loaded TensorFlow's.

    Returns:
        (fp32 session, int8 session, the optimizer's fused-operator counts), or None where
        torch or transformers is not installed.
    """
    import importlib.util
    import json
    import subprocess
    import sys
    import tempfile

    from deploy.onnx_runtime import inference_session

    if not all(importlib.util.find_spec(name) for name in ("torch", "transformers")):
        return None
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "baselines.onnx_runtime_bert", folder], cwd=_REPO,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return (inference_session(f"{folder}/fp32.onnx", threads),
                inference_session(f"{folder}/int8.onnx", threads),
                json.loads(Path(folder, "fused.json").read_text(encoding="utf-8")))
