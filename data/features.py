"""Model inputs from examples: token ids, segment ids, input mask; and label arrays."""

import dataclasses
import functools

import numpy as np


@dataclasses.dataclass(frozen=True)
class Features:
    """The three BERT inputs of n examples, each an int32 array [n, seq_len].

    Args:
        token_ids: [CLS] a [SEP] (b [SEP]) as vocabulary ids, then padding ids.
        segment_ids: 0 for [CLS], a and its [SEP]; 1 for b and its [SEP]; 0 on padding.
        input_mask: 1 on real tokens, 0 on padding.
    """

    token_ids: np.ndarray
    segment_ids: np.ndarray
    input_mask: np.ndarray
    truncated: int = 0  # examples longer than seq_len, cut to it by `encode`

    def __len__(self):
        return len(self.token_ids)

    @property
    def inputs(self):
        """[token_ids, segment_ids, input_mask]: the model's three inputs in its order.

        The fields' order is that order (`modeling.bert.build_model`'s Input-Token,
        Input-Segment, Input-Mask), so `Features(*inputs)` names a list of inputs again.
        """
        return [self.token_ids, self.segment_ids, self.input_mask]

    def truncation_note(self, split, seq_len):
        """The log line saying how many of these inputs `encode` cut to seq_len, or None."""
        return truncation_note(self.truncated, len(self), split, seq_len)

    @functools.cached_property
    def lengths(self):
        """(n,) int: the real tokens of each example, [CLS] and [SEP]s included (counted once:
        every length-aware batch reads them)."""
        return self.input_mask.sum(axis=1)

    def batch(self, rows, padding):
        """The three model inputs of some rows, padded as `padding` says.

        Args:
            rows: indices of the rows.
            padding: "batch" (to the longest of these rows) or "seq_len" (to seq_len).

        Returns:
            [token_ids, segment_ids, input_mask], each (len(rows), width) int32.
        """
        width = self.token_ids.shape[1]
        if padding == "batch" and len(rows):
            width = int(self.lengths[rows].max())
        return [x[rows, :width] for x in self.inputs]


def truncation_note(truncated, rows, split, seq_len):
    """The log line saying that `truncated` of `rows` inputs were cut to seq_len, or None.

    Args:
        truncated, rows: counts of inputs.
        split: "training", "dev" or "test", for the line.
        seq_len: the task's maximum sequence length.
    """
    if not truncated:
        return None
    return (f"{truncated} of {rows} {split} inputs ({100 * truncated / rows:.1f}%) are longer "
            f"than seq_len {seq_len}: their word pieces past it are dropped, as Google's BERT "
            "drops them")


def encode(examples, tokenizer, seq_len):
    """Tokenizes examples into fixed-length model inputs, as Google's BERT does.

    Args:
        examples: `Example`s (text_b None for single sentences).
        tokenizer: has `tokenize(text)`, `convert_tokens_to_ids(tokens)`, `cls_token`,
            `sep_token` and `pad_id`.
        seq_len: the task's maximum sequence length N; longer inputs are truncated.

    Returns:
        `Features`.
    """
    if seq_len < 3:
        raise ValueError(f"seq_len must be at least 3 to hold [CLS] a [SEP], not {seq_len}")
    shape = (len(examples), seq_len)
    token_ids = np.full(shape, tokenizer.pad_id, dtype=np.int32)
    segment_ids = np.zeros(shape, dtype=np.int32)
    input_mask = np.zeros(shape, dtype=np.int32)
    truncated = 0
    for i, example in enumerate(examples):
        tokens_a = tokenizer.tokenize(example.text_a)
        tokens_b = None if example.text_b is None else tokenizer.tokenize(example.text_b)
        truncated += len(tokens_a) + len(tokens_b or ()) + 2 + (tokens_b is not None) > seq_len
        if tokens_b is None:
            tokens_a = tokens_a[:seq_len - 2]
        else:
            truncate_seq_pair(tokens_a, tokens_b, seq_len - 3)
        tokens = [tokenizer.cls_token, *tokens_a, tokenizer.sep_token]
        n_a = len(tokens)
        if tokens_b is not None:
            tokens += [*tokens_b, tokenizer.sep_token]
        token_ids[i, :len(tokens)] = tokenizer.convert_tokens_to_ids(tokens)
        segment_ids[i, n_a:len(tokens)] = 1
        input_mask[i, :len(tokens)] = 1
    return Features(token_ids, segment_ids, input_mask, truncated)


def truncate_seq_pair(tokens_a, tokens_b, max_length):
    """Shortens a pair in place to at most max_length tokens in total, longest first.

    One token at a time from the end of the longer list (b when they tie), exactly as
    Google's `_truncate_seq_pair`: a short sentence keeps all its tokens, rather than
    both losing the same share.

    Args:
        tokens_a, tokens_b: token lists, shortened in place.
        max_length: the total length allowed.
    """
    while len(tokens_a) + len(tokens_b) > max_length:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        longer.pop()


def encode_labels(examples, task):
    """The label array of labelled examples.

    Args:
        examples: `Example`s with labels (train or dev).
        task: their `Task`.

    Returns:
        float32 scores [n] for regression, else int32 label ids [n] in the task's label order.
    """
    if task.is_regression:
        return np.array([example.label for example in examples], dtype=np.float32)
    label_ids = {label: i for i, label in enumerate(task.labels)}
    return np.array([label_ids[example.label] for example in examples], dtype=np.int32)
