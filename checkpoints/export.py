"""A trained PoWER-BERT as a TensorFlow SavedModel that takes raw sentences, or as ONNX.

    python -m checkpoints.export --TASK mrpc --CHECKPOINT_PATH retrained.hdf5 [...] OUT_DIR
    python -m checkpoints.export --FORMAT onnx [--QUANTIZE int8 --DATA_DIR D] [...] OUT_DIR

The flags are main.py's, meaning what they mean there. The SavedModel's `serving_default`
signature takes `text_a` and `text_b` (string tensors, shape [batch]; `text_b` is ignored by
single-sentence tasks) and returns `probabilities` [batch, classes], or `score` [batch, 1] for
STS-B. Tokenization runs inside the graph, with TensorFlow Text, and gives exactly the ids
`data.features.encode` gives; the retention configuration is built in. Loading it needs
TensorFlow and `import tensorflow_text` (which registers the tokenizer's ops), nothing of this
repository: `tf.saved_model.load(OUT_DIR).signatures["serving_default"]`, or TensorFlow Serving.

`--FORMAT onnx` writes OUT_DIR/model.onnx for ONNX Runtime (`checkpoints.onnx_graph`): inputs
`input_ids`, `token_type_ids`, `attention_mask` (int64 [batch, n], a batch padded to its
longest row), the same output; beside it vocab.txt and power_bert.json (task, seq_len, labels,
retention configuration). Running it needs `onnxruntime` and `numpy` only. `--QUANTIZE int8`
quantizes it (int8 dynamic quantization) and prints what that costs on DATA_DIR's dev rows.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter

from errors import ORIGINAL_FLAGS, UserError, exit_code, import_tensorflow_quietly  # noqa: E402

# The inputs this command line takes with the original's flags (it has no mode flag; its
# --DATA_DIR only scores --QUANTIZE).
FLAGS = {name: ORIGINAL_FLAGS[name] for name in (
    "bert_config", "checkpoint", "data_dir", "model_format", "retention", "task", "task_config")}
ONNX_NAME = "model.onnx"
VOCAB_NAME = "vocab.txt"
RECORD_NAME = "power_bert.json"

# TensorFlow Text counts its word limit in bytes; this one never applies, so that Google's,
# in characters, does (see `_wordpiece_tokenizer`).
_MAX_WORD_BYTES = 1 << 30


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UserError(f"{message}; see python -m checkpoints.export --help")


def parse_args(argv):
    p = _Parser(prog="python -m checkpoints.export", description=__doc__.splitlines()[0])
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
    p.add_argument("--TASK", required=True,
                   help="cola, rte, sst-2, qnli, mrpc, mnli-m, mnli-mm, qqp or sts-b")
    p.add_argument("--CHECKPOINT_PATH", required=True,
                   help="the trained model: retrained.hdf5, or a fine-tuned checkpoint")
    p.add_argument("--BERT_CONFIG_PATH", help="bert_config.json (default: the embedded MiniLM)")
    p.add_argument("--VOCAB_PATH", help="WordPiece vocab.txt, or SentencePiece .model for ALBERT")
    p.add_argument("--CASED", action="store_true", help="the model is cased")
    p.add_argument("--TASK_CONFIG_PATH", help="JSON overriding the task's seq_len")
    p.add_argument("--MODEL_FORMAT", type=str.upper, choices=("CKPT", "HDF5"),
                   help="format of --CHECKPOINT_PATH (default: HDF5 for .hdf5/.h5, else CKPT)")
    p.add_argument("--RETENTION_CONFIG",
                   help="word vectors kept per block (default: the configuration an .hdf5 of "
                        "ours records, else all)")
    p.add_argument("--PADDING", choices=("batch", "seq_len"),
                   help="significance score as main.py's --PADDING: batch (only real words "
                        "vote) or seq_len (padding votes, the original); default: what the "
                        ".hdf5 records, seq_len for the original's files, else batch")
    return p.parse_args(argv)


def build_serving_model(config, task, retention, checkpoint_path, model_format, padding="batch",
                        relative=False):
    """The Keras model the SavedModel runs: built as main.py's --PREDICT_ONLY builds it.

    Args:
        config: the `BertConfig`.
        task: the `Task` (seq_len, classes).
        retention: the retention configuration, one int per block.
        checkpoint_path: the checkpoint: a TensorFlow checkpoint prefix, or an .hdf5 file.
        model_format: "CKPT" or "HDF5".
        padding: "batch" (only real words vote in the significance score) or "seq_len"
            (padding votes, the original); the SavedModel pads every input to seq_len.
        relative: `retention` holds shares of each input's length.

    Raises:
        UserError: the checkpoint does not fit, or has no classifier.
    """
    from checkpoints.load import load_classifier
    from modeling.bert import build_model

    model = build_model(config, task.seq_len, task.num_labels, retention_configuration=retention,
                        padding_votes=padding == "seq_len", relative=relative)
    load_classifier(model, checkpoint_path, model_format, config, task.seq_len, "export")
    return model


def _wordpiece_tokenizer(tokenizer, cased):
    """(vocab table, function(strings [batch]) -> ragged int64 ids [batch, (pieces)]), as
    `FullTokenizer` tokenizes; the table is a resource the SavedModel must track.

    Google's steps, in TensorFlow ops: drop control characters, lower-case and strip accents
    (uncased models), split on whitespace and around punctuation and CJK ideographs, make
    words over 200 characters [UNK], then WordPiece (TensorFlow Text's, greedy
    longest-match-first like Google's). TensorFlow Text's own BertTokenizer differs in small
    ways: it turns control characters into spaces, lower-cases by ICU case folding ("ß"
    becomes "ss") and counts its word limit in bytes.

    Args:
        tokenizer: our `FullTokenizer` (its vocab, [UNK] id).
        cased: no lower-casing or accent stripping.
    """
    import tensorflow as tf
    import tensorflow_text as tf_text

    from tokenization.wordpiece import CJK_RANGES, MAX_INPUT_CHARS_PER_WORD

    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(list(tokenizer.vocab)),
                                            tf.constant(list(tokenizer.vocab.values()),
                                                        tf.int64)),
        default_value=tokenizer.unk_id)
    # Google's punctuation: every ASCII non-alphanumeric printable, and Unicode's P*.
    split_off = "|".join([r"[!-/:-@\[-`{-~]", r"\p{P}"] +
                         [fr"[\x{{{low:X}}}-\x{{{high:X}}}]" for low, high in CJK_RANGES])
    wordpiece = tf_text.WordpieceTokenizer(table, suffix_indicator="##",
                                           max_bytes_per_word=_MAX_WORD_BYTES,
                                           token_out_type=tf.int64,
                                           unknown_token=tokenizer.unk_token)

    def tokenize(texts):
        texts = tf.strings.regex_replace(texts, r"[\t\n\r]|\p{Zs}", " ")
        texts = tf.strings.regex_replace(texts, r"\p{Cc}|\p{Cf}|\x{FFFD}", "")
        if not cased:
            texts = tf.strings.lower(texts, encoding="utf-8")
            texts = tf.strings.regex_replace(tf_text.normalize_utf8(texts, "NFD"), r"\p{Mn}", "")
        words = tf_text.regex_split(texts, r"\s+|" + split_off, split_off)  # [batch, (words)]
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > MAX_INPUT_CHARS_PER_WORD
        words = words.with_flat_values(
            tf.where(too_long, tokenizer.unk_token, words.flat_values))
        return wordpiece.tokenize(words).merge_dims(-2, -1)

    return table, tokenize


def _truncated_lengths(length_a, length_b, max_length):
    """The lengths `data.features.truncate_seq_pair` leaves, in closed form.

    It drops one token at a time from the longer side (b on a tie) until the pair fits, so
    the longer side shrinks to the other's length first, then both shrink in turn with a
    keeping the odd token: a = max(max_length - b, ceil(max_length / 2)), at most its own
    length, and likewise b with floor(max_length / 2).
    """
    import tensorflow as tf

    fits = length_a + length_b <= max_length
    a = tf.minimum(length_a, tf.maximum(max_length - length_b, (max_length + 1) // 2))
    b = tf.minimum(length_b, tf.maximum(max_length - length_a, max_length // 2))
    return tf.where(fits, length_a, a), tf.where(fits, length_b, b)


def _head(ragged, lengths):
    """The first `lengths[i]` values of each row of a ragged [batch, (n)] tensor."""
    import tensorflow as tf

    keep = tf.ragged.range(ragged.row_lengths()) < tf.expand_dims(lengths, 1)
    return tf.ragged.boolean_mask(ragged, keep)


def _model_inputs(pieces_a, pieces_b, tokenizer, seq_len):
    """Token ids, segment ids and input mask [batch, seq_len], as `data.features.encode`.

    Args:
        pieces_a: ragged int64 ids [batch, (n_a)].
        pieces_b: the same for the second sentences, or None for single-sentence tasks.
        tokenizer: our tokenizer (its [CLS], [SEP] and padding ids).
        seq_len: the task's sequence length.
    """
    import tensorflow as tf

    cls_id, sep_id = tokenizer.convert_tokens_to_ids([tokenizer.cls_token, tokenizer.sep_token])
    if pieces_b is None:
        pieces_a = _head(pieces_a, tf.minimum(pieces_a.row_lengths(), seq_len - 2))
    else:
        length_a, length_b = _truncated_lengths(pieces_a.row_lengths(), pieces_b.row_lengths(),
                                                seq_len - 3)
        pieces_a, pieces_b = _head(pieces_a, length_a), _head(pieces_b, length_b)
    batch = pieces_a.nrows()
    cls = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.constant(cls_id, tf.int64)))
    sep = tf.RaggedTensor.from_tensor(tf.fill([batch, 1], tf.constant(sep_id, tf.int64)))
    parts = [(tf.concat([cls, pieces_a, sep], axis=1), 0)]  # (pieces, their segment id)
    if pieces_b is not None:
        parts.append((tf.concat([pieces_b, sep], axis=1), 1))
    token_ids = tf.concat([part for part, _ in parts], axis=1)
    segment_ids = tf.concat([tf.ones_like(part) * segment for part, segment in parts], axis=1)
    shape = [None, seq_len]
    return (tf.cast(token_ids.to_tensor(tokenizer.pad_id, shape=shape), tf.int32),
            tf.cast(segment_ids.to_tensor(0, shape=shape), tf.int32),
            tf.cast(tf.ones_like(token_ids).to_tensor(0, shape=shape), tf.int32))


def featurizer(tokenizer, seq_len, cased, pair):
    """The model inputs of raw sentences, in TensorFlow ops: `data.features.encode` in the graph.

    Args:
        tokenizer: our `FullTokenizer` for the model's vocab.
        seq_len: the task's sequence length.
        cased: the model is cased.
        pair: the task's examples are sentence pairs; else `text_b` is ignored.

    Returns:
        (the vocab table, for the SavedModel to track; function(text_a, text_b) -> token ids,
        segment ids, input mask, each int32 [batch, seq_len]).

    Raises:
        UserError: the tokenizer is not WordPiece.
    """
    from tokenization import FullTokenizer

    if not isinstance(tokenizer, FullTokenizer):
        # Tried: on runs of one character ("$900000") TensorFlow Text's SentencePiece breaks
        # ties between equally likely segmentations unlike the sentencepiece package.
        raise UserError("exporting an ALBERT model (SentencePiece vocab) is not supported: "
                        "TensorFlow Text's SentencePiece does not always split words as ours "
                        "does; export a BERT model with a WordPiece vocab.txt")
    table, tokenize = _wordpiece_tokenizer(tokenizer, cased)

    def featurize(text_a, text_b):
        return _model_inputs(tokenize(text_a), tokenize(text_b) if pair else None, tokenizer,
                             seq_len)

    return table, featurize


def serving_module(model, table, featurize, task):
    """A `tf.Module` whose `serve(text_a, text_b)` runs tokenization and the model.

    Args:
        model: the Keras model of `build_serving_model`.
        table, featurize: what `featurizer` returns.
        task: the `Task`.
    """
    import tensorflow as tf

    module = tf.Module()
    module.model = model
    module.table = table
    output_name = "score" if task.is_regression else "probabilities"

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text_a"),
                                  tf.TensorSpec([None], tf.string, name="text_b")])
    def serve(text_a, text_b):
        return {output_name: module.model(list(featurize(text_a, text_b)), training=False)}

    module.serve = serve
    return module


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
    import tensorflow as tf

    from atomic_files import folder_written_atomically
    from checkpoints.default_model import with_default_model
    from checkpoints.load import (check_task, guess_format, resolve_padding,
                                  resolve_retention, resolve_retention_mode)
    from data.glue import is_pair_task
    from data.tasks import get_task
    from modeling.config import load_config
    from tokenization import load_model_tokenizer

    task = get_task(args.TASK, args.TASK_CONFIG_PATH)
    config_path, _, vocab_path = with_default_model(args.BERT_CONFIG_PATH, args.CHECKPOINT_PATH,
                                                    args.VOCAB_PATH)
    config = load_config(config_path)
    tokenizer = load_model_tokenizer(vocab_path, args.CASED, config.vocab_size, config_path)
    model_format = args.MODEL_FORMAT or guess_format(args.CHECKPOINT_PATH)
    check_task(task, args.CHECKPOINT_PATH, model_format)
    mode, mode_note = resolve_retention_mode(None, args.CHECKPOINT_PATH, model_format,
                                             args.RETENTION_CONFIG)
    retention, note = resolve_retention(args.RETENTION_CONFIG, args.CHECKPOINT_PATH,
                                        model_format, config.num_hidden_layers, task.seq_len,
                                        relative=mode == "relative")
    padding, padding_note = resolve_padding(args.PADDING, args.CHECKPOINT_PATH, model_format,
                                            relative=mode == "relative")
    if args.FORMAT == "onnx" and config.is_albert:
        raise UserError("exporting an ALBERT model to ONNX is not supported: its shared blocks "
                        "are not written; export a BERT model")
    if args.FORMAT == "saved_model":
        table, featurize = featurizer(tokenizer, task.seq_len, args.CASED, is_pair_task(task))
    model = build_serving_model(config, task, retention, args.CHECKPOINT_PATH, model_format,
                                padding, relative=mode == "relative")
    if args.FORMAT == "onnx":
        lines = _write_onnx(args, model, config, task, tokenizer, vocab_path,
                            dict(retention_configuration=retention, retention_mode=mode,
                                 padding=padding))
    else:
        module = serving_module(model, table, featurize, task)
        with folder_written_atomically(args.OUT_DIR) as temp:
            tf.saved_model.save(module, temp, signatures={"serving_default": module.serve})
        lines = [f"Wrote the SavedModel of {args.CHECKPOINT_PATH} ({task.name}, seq_len "
                 f"{task.seq_len}) to {args.OUT_DIR}"]
    for line in ([note] if note else []) + [padding_note, mode_note,
                                            f"Retention Configuration : {retention}", *lines]:
        print(line)


def _write_onnx(args, model, config, task, tokenizer, vocab_path, retention):
    """Writes model.onnx, vocab.txt and power_bert.json to OUT_DIR (atomically).

    Args:
        args: the parsed flags.
        model: the Keras model of `build_serving_model`.
        config, task, tokenizer: its `BertConfig`, `Task` and tokenizer.
        vocab_path: the vocab.txt to ship beside the model.
        retention: {"retention_configuration", "retention_mode", "padding"}, as resolved.

    Returns:
        The lines to print: what quantization cost, if asked, and what was written.
    """
    import json
    import shutil

    import onnx

    from atomic_files import folder_written_atomically
    from checkpoints import onnx_graph

    onnx_model = onnx_graph.build_onnx_model(
        model, config, retention["retention_configuration"],
        relative=retention["retention_mode"] == "relative",
        padding_votes=retention["padding"] == "seq_len")
    record = {"task": task.name, "seq_len": task.seq_len, "labels": list(task.labels),
              **retention, "lower_case": not args.CASED,
              "inputs": list(onnx_graph.INPUT_NAMES),
              "output": onnx_graph.output_name(task.num_labels),
              "quantization": args.QUANTIZE}
    lines = []
    if args.QUANTIZE:
        quantized = onnx_graph.quantize_int8(onnx_model)
        record["dev_metrics"], line = _quantization_cost(task, tokenizer, args.DATA_DIR,
                                                         onnx_model, quantized)
        lines.append(line)
        onnx_model = quantized
    with folder_written_atomically(args.OUT_DIR) as temp:
        onnx.save(onnx_model, os.path.join(temp, ONNX_NAME))
        shutil.copyfile(vocab_path, os.path.join(temp, VOCAB_NAME))
        with open(os.path.join(temp, RECORD_NAME), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
    kind = "int8 " if args.QUANTIZE else ""
    lines.append(f"Wrote the {kind}ONNX model of {args.CHECKPOINT_PATH} ({task.name}, seq_len "
                 f"{task.seq_len}) to {os.path.join(args.OUT_DIR, ONNX_NAME)}, with "
                 f"{VOCAB_NAME} and {RECORD_NAME}")
    return lines


def _quantization_cost(task, tokenizer, data_dir, fp32, int8):
    """The dev metrics of the fp32 and the int8 model, and a line that compares them.

    Returns:
        ({"fp32": metrics, "int8": metrics}, the line).
    """
    from checkpoints.onnx_graph import inference_session, predict
    from data.features import encode, encode_labels
    from data.glue import read_examples
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


def main(argv=None):
    """The command line; returns the exit status (2 and one stderr line on bad input)."""
    return exit_code(lambda: export(parse_args(sys.argv[1:] if argv is None else argv)),
                     flags=FLAGS)


if __name__ == "__main__":
    sys.exit(main())
