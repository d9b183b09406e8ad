"""BERT's WordPiece tokenization, behaving like Google's `tokenization.py` (google-research/bert).

Text goes through `BasicTokenizer` (cleaning, CJK splitting, optional lower-casing with
accent stripping, punctuation splitting) and then `WordpieceTokenizer` (greedy
longest-match-first sub-words with "##" continuations). `FullTokenizer` chains the two over a
`vocab.txt` file, one token per line, the line number being the id.
"""

import unicodedata

from errors import UserError
from text_files import read_text

REQUIRED_TOKENS = ("[CLS]", "[SEP]", "[UNK]", "[PAD]")
MAX_INPUT_CHARS_PER_WORD = 200

# CJK Unified Ideographs blocks, as Google lists them; Hangul and Japanese kana are not in
# the list, so BERT keeps them inside words like any other letters.
CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def _is_whitespace(char: str) -> bool:
    """Whether BERT turns `char` into a plain space (tab, newlines, and category Zs)."""
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def _is_control(char: str) -> bool:
    """Whether BERT drops `char` (categories Cc and Cf, except tab and newlines)."""
    return char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cf")


def _is_punctuation(char: str) -> bool:
    """Whether `char` is split off as its own token.

    Google counts every ASCII non-letter, non-digit printable (e.g. "$", "^", "`") as
    punctuation, even those Unicode files under symbols, besides every category P*.
    """
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(char: str) -> bool:
    """Whether `char` is a CJK ideograph, which BERT tokenizes one character at a time."""
    code = ord(char)
    return any(low <= code <= high for low, high in CJK_RANGES)


class _CleaningTable(dict):
    """`str.translate` table for BERT's text cleaning, filled in as characters are first seen.

    Drops NUL, U+FFFD and control characters, maps whitespace to " ", and puts spaces around
    CJK ideographs. Looking each character up once keeps tokenizing ~60k sentences fast.
    """

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        if code == 0 or code == 0xFFFD or _is_control(char):
            replacement = None
        elif _is_whitespace(char):
            replacement = " "
        elif _is_cjk(char):
            replacement = f" {char} "
        else:
            replacement = char
        self[code] = replacement
        return replacement


_CLEANING_TABLE = _CleaningTable()


class BasicTokenizer:
    """Splits text into words and punctuation marks, before WordPiece.

    Args:
        do_lower_case: lower-case and strip accents (NFD, drop category Mn): the uncased models.
    """

    def __init__(self, do_lower_case: bool):
        self.do_lower_case = do_lower_case

    def tokenize(self, text: str) -> list[str]:
        """Returns the words and punctuation marks of `text`.

        Args:
            text: any string; characters BERT cannot use are dropped, never an error.
        """
        tokens = []
        for word in text.translate(_CLEANING_TABLE).split():
            if self.do_lower_case:
                word = _strip_accents(word.lower())
            tokens.extend(_split_on_punctuation(word))
        return tokens


def _strip_accents(word: str) -> str:
    """Removes combining marks (category Mn) after NFD decomposition."""
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFD", word)
    return "".join(char for char in decomposed if unicodedata.category(char) != "Mn")


def _split_on_punctuation(word: str) -> list[str]:
    """Splits `word` so that every punctuation character is a token of its own."""
    if word.isalnum():  # letters and digits only: nothing to split, the common case
        return [word]
    tokens = []
    current = []
    for char in word:
        if _is_punctuation(char):
            if current:
                tokens.append("".join(current))
                current = []
            tokens.append(char)
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens


class WordpieceTokenizer:
    """Greedy longest-match-first split of words into vocabulary pieces.

    Args:
        vocab: piece -> id; pieces that continue a word start with "##".
        unk_token: what a word becomes when it cannot be covered by pieces.
        max_input_chars_per_word: longer words become `unk_token` whole.
    """

    def __init__(self, vocab: dict[str, int], unk_token: str = "[UNK]",
                 max_input_chars_per_word: int = MAX_INPUT_CHARS_PER_WORD):
        self.vocab = vocab
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word
        # No piece is longer than this, so longer candidates need not be looked up.
        self._max_piece_len = max((len(piece) for piece in vocab), default=0)

    def tokenize_word(self, word: str) -> list[str]:
        """Returns the pieces of one word, or [unk_token] if some part matches nothing.

        Args:
            word: one token of `BasicTokenizer` (no whitespace in it).
        """
        if len(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._max_piece_len)
            while end > start:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.vocab:
                    break
                end -= 1
            if end == start:
                return [self.unk_token]
            pieces.append(candidate)
            start = end
        return pieces


def load_vocab(vocab_path: str) -> tuple[dict[str, int], int]:
    """Reads a WordPiece `vocab.txt`: one token per line, id = line number from 0.

    Args:
        vocab_path: path of the vocab file.

    Returns:
        (token -> id, number of lines), the latter being the embedding table's row count.

    Raises:
        UserError: unreadable file, not UTF-8, or one of [CLS] [SEP] [UNK] [PAD] missing.
    """
    lines = read_text(vocab_path, "WordPiece vocab", "check the vocab path").split("\n")
    # A final newline ends the last line rather than starting an empty one.
    if lines[-1] == "":
        lines.pop()
    vocab = {line.strip(): index for index, line in enumerate(lines)}
    missing = [token for token in REQUIRED_TOKENS if token not in vocab]
    if missing:
        raise UserError(
            f"WordPiece vocab {vocab_path} lacks {' '.join(missing)}; use the vocab.txt "
            "that came with the BERT checkpoint"
        )
    return vocab, len(lines)


class FullTokenizer:
    """BERT's end-to-end tokenizer: `BasicTokenizer` then `WordpieceTokenizer`.

    Args:
        vocab_path: path of `vocab.txt`.
        cased: keep case and accents (cased models); False lower-cases and strips accents.
    """

    cls_token = "[CLS]"
    sep_token = "[SEP]"
    unk_token = "[UNK]"

    def __init__(self, vocab_path: str, cased: bool):
        self.vocab, self.vocab_size = load_vocab(vocab_path)
        self._inverse_vocab = {i: token for token, i in self.vocab.items()}
        self.pad_id = self.vocab["[PAD]"]
        self.unk_id = self.vocab[self.unk_token]
        self._basic = BasicTokenizer(do_lower_case=not cased)
        self._wordpiece = WordpieceTokenizer(self.vocab, self.unk_token)

    def tokenize(self, text: str) -> list[str]:
        """Returns the WordPiece tokens of `text` (no [CLS]/[SEP] added).

        Args:
            text: any string.
        """
        pieces = []
        for word in self._basic.tokenize(text):
            pieces.extend(self._wordpiece.tokenize_word(word))
        return pieces

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        """Returns the vocab ids of `tokens`; a token not in the vocab gets the [UNK] id.

        Args:
            tokens: e.g. the output of `tokenize`, plus [CLS]/[SEP].
        """
        return [self.vocab.get(token, self.unk_id) for token in tokens]

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        """Returns the vocab tokens of `ids`.

        Args:
            ids: vocab ids, e.g. a row of token ids.
        """
        return [self._inverse_vocab[i] for i in ids]
