"""The significance score of a word vector, and the ranking both extract layers use."""

import tensorflow as tf

# Real scores lie in [0, n) (attention received from at most n - 1 other words), so these
# put [CLS] above and padding below every real word.
CLS_SCORE = 1e9
PAD_SCORE = -1.0


def significance_score(attention_probs, query_mask=None):
    """Attention a word receives from the *other* words, averaged over heads.

    score[b, k] = sum_q m[b, q] mean_h A[b, h, q, k] - mean_h A[b, h, k, k]   (paper, §3.3)

    The paper sums over every query q (m = 1), and the original ran on inputs padded to
    seq_len, so padding queries voted too; then a word's score, and which words a block
    keeps, depend on how much padding the input carries. With `query_mask` only real words
    vote, so a sentence gets the same score whatever batch it runs in.

    Args:
        attention_probs: (batch, heads, n_query, n_key), after softmax and before dropout.
        query_mask: (batch, n), 1 for real words: the queries that vote. None: all vote
            (the original).

    Returns:
        (batch, n_key) scores.
    """
    # TensorFlow ops rather than keras.ops: every batch runs these in every block, and each
    # keras.ops call adds shape and cast ops to the graph that the first batch traces.
    mean = tf.reduce_mean(attention_probs, axis=1)  # (batch, n, n)
    if query_mask is not None:
        mean_voting = mean * tf.expand_dims(tf.cast(query_mask, mean.dtype), 2)
    else:
        mean_voting = mean
    return tf.reduce_sum(mean_voting, axis=1) - tf.linalg.diag_part(mean)


def ranking_score(attention_probs, mask, padding_votes=False):
    """The significance score with [CLS] forced first and padding forced last.

    [CLS] (position 0) is always kept because the classifier reads it. Padding keys are
    masked, so they score ~0 already; but a real word can score ~0 too, and a tie must not
    let a padding vector in.

    Args:
        attention_probs: (batch, heads, n, n).
        mask: (batch, n), 1 for real words.
        padding_votes: padding queries vote too (the original PoWER-BERT); else only real
            words do.

    Returns:
        (batch, n) scores; sorting them descending gives the significance order.
    """
    score = significance_score(attention_probs, None if padding_votes else mask)
    score = tf.where(mask > 0, score, PAD_SCORE)
    is_cls = tf.range(tf.shape(score)[1]) == 0  # (n,)
    return tf.where(is_cls, CLS_SCORE, score)
