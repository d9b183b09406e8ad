"""Google's TensorFlow checkpoints (BERT and ALBERT): reading them into the model's layers,
writing them.

A checkpoint `PREFIX` is two files, `PREFIX.index` and `PREFIX.data-00000-of-00001`.
The layer names and weight orders read into are the original PoWER-BERT's (docs/SPEC.md §5).
"""

import numpy as np
import tensorflow as tf

from errors import UserError, is_disk_full

_EMBEDDINGS = [
    ("Embedding-Token", ["bert/embeddings/word_embeddings"]),
    ("Embedding-Segment", ["bert/embeddings/token_type_embeddings"]),
    ("Embedding-Position", ["bert/embeddings/position_embeddings"]),
    ("Embedding-Norm", ["bert/embeddings/LayerNorm/gamma", "bert/embeddings/LayerNorm/beta"]),
]
_POOLER = [("NSP-Dense", ["bert/pooler/dense/kernel", "bert/pooler/dense/bias"])]


def _dense(scope: str) -> list[str]:
    """The kernel and bias variable names of the dense layer at `scope`."""
    return [f"{scope}/kernel", f"{scope}/bias"]


def _norm(scope: str) -> list[str]:
    """The gamma and beta variable names of the LayerNorm at `scope`."""
    return [f"{scope}/gamma", f"{scope}/beta"]


def _block(layer_prefix: str, scope: str, attention: str, intermediate: str, output: str,
           attention_norm: str, output_norm: str) -> list[tuple[str, list[str]]]:
    """The four weighted layers of one encoder block and their checkpoint variables.

    Args:
        layer_prefix: "Encoder-i" (BERT) or "Encoder" (ALBERT's shared block).
        scope: the block's variable scope in the checkpoint.
        attention: the attention sub-scope holding self/{query,key,value} and output/dense.
        intermediate, output: the feed-forward's two dense scopes.
        attention_norm, output_norm: the two LayerNorm scopes.
    """
    return [
        (f"{layer_prefix}-MultiHeadSelfAttention",
         [name for part in ("self/query", "self/key", "self/value", "output/dense")
          for name in _dense(f"{scope}/{attention}/{part}")]),
        (f"{layer_prefix}-MultiHeadSelfAttention-Norm", _norm(f"{scope}/{attention_norm}")),
        (f"{layer_prefix}-FeedForward",
         _dense(f"{scope}/{intermediate}") + _dense(f"{scope}/{output}")),
        (f"{layer_prefix}-FeedForward-Norm", _norm(f"{scope}/{output_norm}")),
    ]


def _bert_layers(num_layers: int) -> list[tuple[str, list[str]]]:
    """BERT: layer name -> checkpoint variables; Google's layer_0 is our block 1."""
    blocks = []
    for i in range(num_layers):
        blocks += _block(f"Encoder-{i + 1}", f"bert/encoder/layer_{i}", "attention",
                         "intermediate/dense", "output/dense", "attention/output/LayerNorm",
                         "output/LayerNorm")
    return _EMBEDDINGS + blocks + _POOLER


def _albert_layers() -> list[tuple[str, list[str]]]:
    """ALBERT: layer name -> checkpoint variables; one block shared by all L passes."""
    mapping = [("Embedding-Mapping", _dense("bert/encoder/embedding_hidden_mapping_in"))]
    block = _block("Encoder", "bert/encoder/transformer/group_0/inner_group_0", "attention_1",
                   "ffn_1/intermediate/dense", "ffn_1/intermediate/output/dense", "LayerNorm",
                   "LayerNorm_1")
    return _EMBEDDINGS + mapping + block + _POOLER


def layer_variables(num_layers: int, albert: bool = False) -> list[tuple[str, list[str]]]:
    """The model's layers and the checkpoint variables that fill each, in the layer's order.

    Args:
        num_layers: the config's number of encoder blocks (ALBERT shares one).
        albert: ALBERT's names (one shared block, embedding mapping) instead of BERT's.

    Returns:
        [(layer name, [variable names])]; the optional classifier ("NSP") is not among them.
    """
    return _albert_layers() if albert else _bert_layers(num_layers)


def read_google_checkpoint(ckpt_prefix, num_layers: int, seq_len: int,
                           albert: bool = False) -> dict[str, list[np.ndarray]]:
    """Reads a Google BERT/ALBERT checkpoint into the model's layer names.

    Args:
        ckpt_prefix: e.g. `$BERT_BASE_DIR/bert_model.ckpt` (the files are `.index` and `.data-*`).
        num_layers: the config's number of encoder blocks (num_hidden_layers).
        seq_len: the task's sequence length; the position table is cut to its first rows.
        albert: read ALBERT's names (one shared block, embedding mapping) instead of BERT's.

    Returns:
        {layer name: weights in the layer's order}; "NSP" only when the checkpoint holds a
        classifier (`output_weights`, `output_bias`, as google-research/bert fine-tuning saves).
    """
    reader = _open(ckpt_prefix)
    available = reader.get_variable_to_shape_map()
    kind = "ALBERT" if albert else "BERT"

    def get(name: str) -> np.ndarray:
        if name not in available:
            raise UserError(f"checkpoint {ckpt_prefix} has no variable {name}: it does not fit a "
                            f"{kind} config with {num_layers} blocks; check {{bert_config}} "
                            f"and {{checkpoint}}")
        try:
            return np.asarray(reader.get_tensor(name), dtype=np.float32)
        # A truncated data file surfaces as IndexError from TensorFlow's reader.
        except (tf.errors.OpError, IndexError) as error:
            message = getattr(error, "message", str(error)).splitlines()[0]
            raise UserError(f"cannot read variable {name} of checkpoint {ckpt_prefix} "
                            f"({message}); the checkpoint is damaged: download it again")

    extra_block = f"bert/encoder/layer_{num_layers}/attention/self/query/kernel"
    if not albert and extra_block in available:
        raise UserError(f"checkpoint {ckpt_prefix} has more than {num_layers} blocks (it holds "
                        f"{extra_block}); check num_hidden_layers in {{bert_config}}")
    layers = layer_variables(num_layers, albert)
    weights = {layer: [get(name) for name in names] for layer, names in layers}

    positions = weights["Embedding-Position"][0]
    if positions.shape[0] < seq_len:
        raise UserError(f"checkpoint {ckpt_prefix} has {positions.shape[0]} position embeddings, "
                        f"fewer than the task's sequence length {seq_len}; use a shorter task or "
                        f"a model with max_position_embeddings >= {seq_len}")
    weights["Embedding-Position"] = [positions[:seq_len]]

    classifier = [name for name in ("output_weights", "output_bias") if name in available]
    if len(classifier) == 1:
        raise UserError(f"checkpoint {ckpt_prefix} has {classifier[0]} but not its pair "
                        f"(output_weights and output_bias go together); check {{checkpoint}}")
    if classifier:
        # google-research/bert stores the classifier as [num_labels, H]; Keras kernels are
        # (in, out).
        weights["NSP"] = [get("output_weights").T, get("output_bias")]
    return weights


def _open(ckpt_prefix):
    """Opens a checkpoint for reading, turning TensorFlow's errors into a UserError.

    Args:
        ckpt_prefix: the checkpoint prefix.
    """
    try:
        return tf.train.load_checkpoint(str(ckpt_prefix))
    except (tf.errors.OpError, ValueError) as error:
        message = getattr(error, "message", str(error)).splitlines()[0]
        raise UserError(f"cannot open TensorFlow checkpoint {ckpt_prefix} ({message}); "
                        f"{{checkpoint}} must be the prefix of PREFIX.index and "
                        f"PREFIX.data-00000-of-00001, e.g. $BERT_BASE_DIR/bert_model.ckpt")


def write_google_checkpoint(ckpt_prefix, variables: dict[str, np.ndarray]) -> None:
    """Writes `<ckpt_prefix>.index` and `<ckpt_prefix>.data-00000-of-00001`.

    Args:
        ckpt_prefix: the checkpoint prefix; missing directories are created.
        variables: {variable name: array}, written with their names and dtypes unchanged.

    Raises:
        UserError: the checkpoint cannot be written.
        tf.errors.ResourceExhaustedError: the disk is full; a caller writing into a staging
            folder (checkpoints.convert_hf) reports it for the folder it is making, through
            `atomic_files.full_disk_reported`.
    """
    names = sorted(variables)
    try:
        tf.raw_ops.SaveV2(prefix=str(ckpt_prefix), tensor_names=names,
                          shape_and_slices=[""] * len(names),
                          tensors=[np.asarray(variables[name]) for name in names])
    except tf.errors.OpError as error:
        if is_disk_full(error):
            raise  # for the caller to report under the name it is writing, see the docstring
        raise UserError(f"cannot write checkpoint {ckpt_prefix}: {error.message.splitlines()[0]}; "
                        f"check that its directory is writable")
