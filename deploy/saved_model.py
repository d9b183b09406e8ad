"""The SavedModel of the export: raw sentences in, the model's outputs out.

Its `serving_default` signature takes `text_a` and `text_b` (string tensors, shape [batch];
`text_b` is ignored by single-sentence tasks) and returns `probabilities` [batch, classes], or
`score` [batch, 1] for STS-B. Tokenization runs inside the graph, with TensorFlow Text, and
gives exactly the ids `data.features.encode` gives; the retention configuration is built in.
"""

from errors import UserError

# TensorFlow Text counts its word limit in bytes; this one never applies, so that Google's,
# in characters, does (see `_wordpiece_tokenizer`).
_MAX_WORD_BYTES = 1 << 30


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
        model: the Keras model, its classifier loaded (`ModelSetup.build_classifier`).
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


def write_saved_model(out_dir, model, table, featurize, task):
    """Writes the SavedModel of `model` to `out_dir` (atomically), with power_bert.json
    beside it (task, seq_len, labels in the outputs' order).

    Args:
        out_dir: the folder to create.
        model: the Keras model, its classifier loaded.
        table, featurize: what `featurizer` returns.
        task: the `Task`.
    """
    import tensorflow as tf

    from atomic_files import folder_written_atomically
    from deploy.onnx_export import task_record, write_record

    module = serving_module(model, table, featurize, task)
    with folder_written_atomically(out_dir) as temp:
        tf.saved_model.save(module, temp, signatures={"serving_default": module.serve})
        write_record(temp, task_record(task))
