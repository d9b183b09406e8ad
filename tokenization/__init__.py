"""Text to token ids for BERT (WordPiece `vocab.txt`) and ALBERT (SentencePiece `.model`).

`load_tokenizer` picks the right one from the vocab path; `load_model_tokenizer`, which every
entry point uses, also checks the vocabulary against the model it feeds. Both tokenizers offer
`tokenize(text) -> list[str]`, `convert_tokens_to_ids(tokens) -> list[int]`, and the
attributes `cls_token`, `sep_token`, `pad_id` and `vocab_size`.
"""

import warnings

from errors import INPUTS, UserError
from tokenization.sentencepiece_tokenizer import SentencePieceTokenizer
from tokenization.wordpiece import FullTokenizer


def load_tokenizer(vocab_path: str, cased: bool) -> FullTokenizer | SentencePieceTokenizer:
    """Returns the tokenizer for a vocab file: SentencePiece if it ends in `.model`, else WordPiece.

    Args:
        vocab_path: BERT's `vocab.txt`, or ALBERT's SentencePiece `.model` file.
        cased: keep case and accents (cased checkpoints); False lower-cases and strips accents.

    Raises:
        UserError: the file is missing, unreadable or malformed.
    """
    if str(vocab_path).endswith(".model"):
        return SentencePieceTokenizer(vocab_path, cased)
    return FullTokenizer(vocab_path, cased)


def load_model_tokenizer(vocab_path, cased, vocab_size, config_path):
    """The tokenizer of a vocab file, checked against the embedding table of the model it feeds.

    A vocabulary with fewer entries than the table has rows only warns: some models pad their
    table (to a multiple of 8, say); but a vocabulary that is not the model's own gives its
    words other ids, and the model predicts differently, with no error.

    Args:
        vocab_path, cased: as for `load_tokenizer`.
        vocab_size: the model's vocab_size, the rows of its token embedding table.
        config_path: the bert_config.json that gives `vocab_size` (the benchmarks: --model).

    Raises:
        UserError: as `load_tokenizer`; or the vocabulary has more entries than the table has
            rows, so that its last ids have no embedding.
    """
    tokenizer = load_tokenizer(vocab_path, cased)
    entries = f"the vocabulary {vocab_path} has {tokenizer.vocab_size} entries, but"
    table = f"{config_path} has vocab_size {vocab_size}"
    if tokenizer.vocab_size > vocab_size:
        raise UserError(f"{entries} {{bert_config}} {table} (the rows of the model's embedding "
                        f"table), so ids from {vocab_size} on have no embedding; give the vocab "
                        "that came with the checkpoint")
    if tokenizer.vocab_size < vocab_size:
        # No entry point fills in a warning's fields: the config goes by its plain name.
        warnings.warn(f"{entries} {INPUTS['bert_config']} {table}; fine if the model pads its "
                      "embedding table, but if this is not the model's own vocabulary, its "
                      "predictions are wrong")
    return tokenizer


__all__ = ["FullTokenizer", "SentencePieceTokenizer", "load_model_tokenizer", "load_tokenizer"]
