"""Text to token ids for BERT (WordPiece `vocab.txt`) and ALBERT (SentencePiece `.model`).

`load_tokenizer` picks the right one from the vocab path. Both tokenizers offer
`tokenize(text) -> list[str]`, `convert_tokens_to_ids(tokens) -> list[int]`, and the
attributes `cls_token`, `sep_token`, `pad_id` and `vocab_size`.
"""

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


__all__ = ["FullTokenizer", "SentencePieceTokenizer", "load_tokenizer"]
