"""ALBERT's tokenization: Google ALBERT's text preprocessing, then a SentencePiece model.

Used when the vocab path ends in `.model` (ALBERT's `30k-clean.model`: `<pad>`=0, `<unk>`=1,
`[CLS]`=2, `[SEP]`=3). Encoding is deterministic (no sampling), and pieces such as "▁1999,"
are re-split into the number and the comma, as Google ALBERT's `encode_pieces` does.
"""

import unicodedata

import sentencepiece

from errors import UserError
from text_files import read_bytes

SPIECE_UNDERLINE = "\u2581"
REQUIRED_PIECES = ("<pad>", "[CLS]", "[SEP]")


def preprocess_text(text: str, cased: bool) -> str:
    """Google ALBERT's normalisation before SentencePiece.

    Collapses whitespace runs into single spaces, turns `` and '' into ", and for uncased
    models strips accents (NFKD, drop combining marks) and lower-cases.

    Args:
        text: raw input text.
        cased: keep accents and case.
    """
    text = " ".join(text.split())
    text = text.replace("``", '"').replace("''", '"')
    if cased:
        return text
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    return text.lower()


class SentencePieceTokenizer:
    """Tokenizer over a SentencePiece `.model` file, with ALBERT's pre- and post-processing.

    Args:
        model_path: path of the `.model` file.
        cased: keep accents and case (see `preprocess_text`).

    Raises:
        UserError: the file is unreadable, not a SentencePiece model, or lacks one of
            `<pad>` `[CLS]` `[SEP]`.
    """

    cls_token = "[CLS]"
    sep_token = "[SEP]"

    def __init__(self, model_path: str, cased: bool):
        data = read_bytes(model_path, "SentencePiece model", "check the vocab path")
        self._model = sentencepiece.SentencePieceProcessor()
        try:
            self._model.LoadFromSerializedProto(data)
        except RuntimeError:
            raise UserError(
                f"{model_path} is not a SentencePiece model that sentencepiece can load; "
                "give ALBERT's .model file, or a WordPiece vocab.txt"
            ) from None
        missing = [piece for piece in REQUIRED_PIECES
                   if self._model.piece_to_id(piece) == self._model.unk_id()]
        if missing:
            raise UserError(
                f"SentencePiece model {model_path} lacks the pieces {' '.join(missing)}; "
                "use the .model file that came with the ALBERT checkpoint"
            )
        self.cased = cased
        self.pad_id = self._model.piece_to_id("<pad>")
        self.unk_id = self._model.unk_id()
        self.vocab_size = self._model.get_piece_size()

    def tokenize(self, text: str) -> list[str]:
        """Returns the SentencePiece pieces of preprocessed `text` (no [CLS]/[SEP] added).

        Args:
            text: any string.
        """
        pieces = []
        for piece in self._model.encode(preprocess_text(text, self.cased), out_type=str):
            if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
                pieces.extend(self._split_number_comma(piece))
            else:
                pieces.append(piece)
        return pieces

    def _split_number_comma(self, piece: str) -> list[str]:
        """Re-encodes a piece like "▁1999," as the number's pieces followed by ",".

        Google ALBERT's pre-training data was tokenized this way, so ours must be too.
        """
        pieces = self._model.encode(piece[:-1].replace(SPIECE_UNDERLINE, ""), out_type=str)
        # A piece that continued a word must not start a new one when re-encoded.
        continues_word = not piece.startswith(SPIECE_UNDERLINE)
        if continues_word and pieces and pieces[0].startswith(SPIECE_UNDERLINE):
            if len(pieces[0]) == 1:
                pieces = pieces[1:]
            else:
                pieces[0] = pieces[0][1:]
        return pieces + [piece[-1]]

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        """Returns the piece ids of `tokens`; an unknown piece gets the `<unk>` id.

        Args:
            tokens: e.g. the output of `tokenize`, plus [CLS]/[SEP].
        """
        return [self._model.piece_to_id(token) for token in tokens]

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        """Returns the pieces of `ids`.

        Args:
            ids: piece ids, e.g. a row of token ids.
        """
        return [self._model.id_to_piece(int(i)) for i in ids]
