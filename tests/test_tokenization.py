"""Tests of `tokenization`: WordPiece against Hugging Face on real GLUE text and hand-made
cases; SentencePiece (ALBERT) against Hugging Face and direct sentencepiece calls on models
trained here on real GLUE sentences; UserErrors for bad files."""

import unicodedata
from pathlib import Path

import pytest
import sentencepiece
from hypothesis import given, settings, strategies as st

from errors import UserError
from tokenization import FullTokenizer, SentencePieceTokenizer, load_tokenizer
from tests.helpers import MINILM_DIR, glue_column, train_sentencepiece

MINILM_VOCAB = str(MINILM_DIR / "vocab.txt")


@pytest.fixture(scope="module")
def glue_sentences():
    """All MRPC dev sentences plus a few hundred SST-2 and CoLA rows."""
    return (glue_column("MRPC", "dev", 3, True) + glue_column("MRPC", "dev", 4, True)
            + glue_column("SST-2", "dev", 0, True, 300) + glue_column("CoLA", "dev", 3, False, 300))


# ---------------------------------------------------------------- WordPiece vs Hugging Face

@pytest.mark.parametrize("cased", [False, True])
def test_wordpiece_matches_hugging_face_on_glue(glue_sentences, cased):
    from transformers import BertTokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    options = dict(do_lower_case=not cased, tokenize_chinese_chars=True, strip_accents=None)
    references = [BertTokenizer(vocab=MINILM_VOCAB, **options),
                  BertTokenizerLegacy(vocab_file=MINILM_VOCAB, **options)]
    ours = load_tokenizer(MINILM_VOCAB, cased)
    assert len(glue_sentences) > 1300
    for sentence in glue_sentences:
        tokens = ours.tokenize(sentence)
        for reference in references:
            assert tokens == reference.tokenize(sentence), sentence
        assert ours.convert_tokens_to_ids(tokens) == references[0].convert_tokens_to_ids(tokens)


@pytest.mark.parametrize("bom, line_end", [(True, "\n"), (True, "\r\n"), (False, "\r\n"),
                                            (True, "\r")])
def test_vocab_as_editors_save_it_tokenizes_as_the_original(glue_sentences, minilm_uncased,
                                                             tmp_path, bom, line_end):
    """A vocab.txt saved with a byte order mark, or Windows or old-Mac line ends, is the same
    vocabulary: [PAD] is its first token, and every id stays."""
    text = Path(MINILM_VOCAB).read_text(encoding="utf-8")
    path = tmp_path / "vocab.txt"
    path.write_bytes(("\ufeff" * bom + text.replace("\n", line_end)).encode("utf-8"))
    edited = load_tokenizer(str(path), cased=False)
    assert (edited.vocab, edited.vocab_size, edited.pad_id) == (
        minilm_uncased.vocab, minilm_uncased.vocab_size, minilm_uncased.pad_id)
    for sentence in glue_sentences[:300]:
        tokens = edited.tokenize(sentence)
        assert tokens == minilm_uncased.tokenize(sentence), sentence
        assert edited.convert_tokens_to_ids(tokens) == minilm_uncased.convert_tokens_to_ids(tokens)


@pytest.fixture(scope="module")
def minilm_uncased():
    return load_tokenizer(MINILM_VOCAB, cased=False)


@pytest.fixture(scope="module")
def hugging_face_python_pipeline():
    """Hugging Face's python BasicTokenizer + WordpieceTokenizer, uncased, without the special
    token handling (keeping "[CLS]" in text whole) that Google's tokenizer does not have."""
    from transformers.models.bert import tokenization_bert_legacy as legacy

    basic = legacy.BasicTokenizer(do_lower_case=True, tokenize_chinese_chars=True)
    wordpiece = legacy.WordpieceTokenizer(legacy.load_vocab(MINILM_VOCAB), "[UNK]", 200)
    return lambda text: [piece for word in basic.tokenize(text) for piece in wordpiece.tokenize(word)]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cn", "Co", "Cs")), max_size=30))
def test_wordpiece_matches_hugging_face_on_random_unicode(minilm_uncased,
                                                         hugging_face_python_pipeline, text):
    # Hugging Face drops every category C* and NFC-normalises first; Google keeps unassigned
    # and private-use characters and does not normalise, so compare where the two agree.
    if not unicodedata.is_normalized("NFC", text):
        return
    assert minilm_uncased.tokenize(text) == hugging_face_python_pipeline(text)


# ---------------------------------------------------------------- WordPiece by hand

TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "Héllo", "un", "una", "##aff",
              "##ffa", "##able", "##ble", "$", "^", "5", "2", "中", "文", "don", "'", "t",
              "abcd", "a", "##a", "!", ","]


@pytest.fixture
def tiny_vocab(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\r\n".join(TINY_VOCAB) + "\r\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("cased, text, expected", [
    (False, "Héllo!", ["hello", "!"]),
    (True, "Héllo!", ["Héllo", "!"]),
    (True, "hÉllo", ["[UNK]"]),
    (False, "中文", ["中", "文"]),
    (False, "hello中文hello", ["hello", "中", "文", "hello"]),
    (False, "a\x00b\u200bc\x07d\ufffd", ["abcd"]),
    (False, "hello\u3000hello\thello\n", ["hello", "hello", "hello"]),
    (False, "$5^2", ["$", "5", "^", "2"]),
    (False, "don't", ["don", "'", "t"]),
    (False, "unaffable", ["una", "##ffa", "##ble"]),
    (False, "hellox", ["[UNK]"]),
    (False, "hello\ue000", ["[UNK]"]),  # private use: Google keeps it, unlike Hugging Face
    (False, "xyz, hello", ["[UNK]", ",", "hello"]),
    (False, "a" * 201, ["[UNK]"]),
    (False, "a" * 200, ["a"] + ["##a"] * 199),
    (False, "", []),
    (False, " \u0301 ", []),
])
def test_wordpiece_hand_made_cases(tiny_vocab, cased, text, expected):
    assert load_tokenizer(tiny_vocab, cased).tokenize(text) == expected


def test_wordpiece_ids_and_attributes(tiny_vocab):
    tokenizer = load_tokenizer(tiny_vocab, cased=False)
    assert isinstance(tokenizer, FullTokenizer)
    assert tokenizer.vocab_size == len(TINY_VOCAB)
    assert (tokenizer.cls_token, tokenizer.sep_token, tokenizer.pad_id) == ("[CLS]", "[SEP]", 0)
    tokens = ["[CLS]", "una", "##ffa", "##ble", "[SEP]", "never-seen"]
    assert tokenizer.convert_tokens_to_ids(tokens) == [2, 7, 9, 11, 3, 1]
    assert tokenizer.convert_ids_to_tokens([2, 7, 9, 11, 3, 1]) == tokens[:-1] + ["[UNK]"]


def test_minilm_hand_made_cases(minilm_uncased):
    tokenizer = minilm_uncased
    assert tokenizer.vocab_size == 30522
    assert tokenizer.tokenize("Héllo, CAFÉ 中文!") == ["hello", ",", "cafe", "中", "文", "!"]
    assert tokenizer.convert_tokens_to_ids(["[PAD]", "[UNK]", "[CLS]", "[SEP]"]) == [0, 100, 101, 102]


# ---------------------------------------------------------------- SentencePiece

@pytest.fixture(scope="module")
def training_sentences():
    return glue_column("SST-2", "train", 0, True, 2500) + glue_column("MRPC", "train", 3, True, 1500)


@pytest.fixture(scope="module")
def albert_model(tmp_path_factory, training_sentences):
    """A plain ALBERT-like model; its pieces never mix digits with ",", as split_by_number does."""
    return train_sentencepiece(tmp_path_factory.mktemp("spm") / "plain", training_sentences,
                               vocab_size=1000, control_symbols=["[CLS]", "[SEP]", "[MASK]"])


@pytest.fixture(scope="module")
def number_comma_model(tmp_path_factory, training_sentences):
    """A model holding "▁1999," and "1999," as pieces, like ALBERT's 30k-clean vocab does."""
    return train_sentencepiece(tmp_path_factory.mktemp("spm") / "comma", training_sentences,
                               vocab_size=800, control_symbols=["[CLS]", "[SEP]", "[MASK]"],
                               user_defined_symbols=["\u25811999,", "1999,"])


ODD_SENTENCES = ["Héllo  Wörld,\t``quoted'' ok", "Ünïcödé ﬁne ½ Ⅻ", "", "   ", "a \u3000 b"]


@pytest.mark.parametrize("cased", [False, True])
def test_sentencepiece_matches_hugging_face_albert(tmp_path, albert_model, cased):
    from transformers import AlbertTokenizer

    (tmp_path / "spiece.model").write_bytes(Path(albert_model).read_bytes())
    reference = AlbertTokenizer.from_pretrained(str(tmp_path), do_lower_case=not cased,
                                                keep_accents=cased)
    ours = load_tokenizer(albert_model, cased)
    sentences = (glue_column("MRPC", "dev", 3, True) + glue_column("SST-2", "dev", 0, True, 500)
                 + ODD_SENTENCES)
    for sentence in sentences:
        tokens = ours.tokenize(sentence)
        assert tokens == reference.tokenize(sentence), sentence
        assert ours.convert_tokens_to_ids(tokens) == reference.convert_tokens_to_ids(tokens)


def test_sentencepiece_ids_and_attributes(albert_model):
    tokenizer = load_tokenizer(albert_model, cased=False)
    assert isinstance(tokenizer, SentencePieceTokenizer)
    assert (tokenizer.cls_token, tokenizer.sep_token, tokenizer.pad_id) == ("[CLS]", "[SEP]", 0)
    assert tokenizer.vocab_size == 1000
    assert tokenizer.convert_tokens_to_ids(["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]", "\u2581\u00e9\u00e9\u00e9"]) == [0, 1, 2, 3, 4, 1]
    assert tokenizer.convert_ids_to_tokens([0, 2, 3, 1]) == ["<pad>", "[CLS]", "[SEP]", "<unk>"]


def test_sentencepiece_preprocessing(albert_model):
    model = sentencepiece.SentencePieceProcessor(model_file=albert_model)

    def pieces(text):
        return model.encode(text, out_type=str)

    uncased = load_tokenizer(albert_model, cased=False)
    cased = load_tokenizer(albert_model, cased=True)
    # Accents: stripped (NFKD) and lower-cased only when uncased; sentencepiece alone keeps é.
    assert pieces("Héllo") != pieces("hello")
    assert uncased.tokenize("Héllo") == pieces("hello")
    assert cased.tokenize("Héllo") == pieces("Héllo")
    # `` and '' become ", whichever the casing; a lone ' stays.
    assert pieces("``hi''") != pieces('"hi"')
    assert uncased.tokenize("He said ``hi'' 'x'") == pieces('he said "hi" \'x\'')
    assert cased.tokenize("``Hi''") == pieces('"Hi"')
    # Whitespace runs of any kind become one space.
    assert uncased.tokenize("  a \t\n b  ") == pieces("a b")


def test_sentencepiece_number_comma_rule(number_comma_model):
    model = sentencepiece.SentencePieceProcessor(model_file=number_comma_model)

    def pieces(text):
        return model.encode(text, out_type=str)

    tokenizer = load_tokenizer(number_comma_model, cased=False)
    number = pieces("1999")
    assert number[0].startswith("\u2581")
    # A word-initial "▁1999," becomes the pieces of "1999" and then ",".
    assert pieces("in 1999, he") == ["\u2581in", "\u25811999,", "\u2581he"]
    assert tokenizer.tokenize("In 1999, he") == ["\u2581in", *number, ",", "\u2581he"]
    # Inside a word ("x1999,") the re-encoded number must not start a new word.
    assert pieces("x1999,")[-1] == "1999,"
    continued = ([number[0][1:]] if len(number[0]) > 1 else []) + number[1:]
    assert tokenizer.tokenize("x1999,") == pieces("x1999,")[:-1] + continued + [","]
    # A number with no comma after it is left alone.
    assert tokenizer.tokenize("1999") == number


@pytest.fixture(scope="module")
def all_tokenizers(albert_model):
    return [load_tokenizer(path, cased) for path in (MINILM_VOCAB, albert_model)
            for cased in (False, True)]


@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_tokenizers_never_crash_on_any_unicode(all_tokenizers, text):
    for tokenizer in all_tokenizers:
        tokens = tokenizer.tokenize(text)
        assert all(isinstance(token, str) and token for token in tokens)
        ids = tokenizer.convert_tokens_to_ids(tokens)
        assert all(0 <= i < tokenizer.vocab_size for i in ids)
        # Back from ids: the same pieces, except those the vocab lacks, which became unknown.
        back = tokenizer.convert_ids_to_tokens(ids)
        assert all(b == t or i == tokenizer.unk_id for t, b, i in zip(tokens, back, ids))


# ---------------------------------------------------------------- errors

def assert_user_error(vocab_path, *words):
    with pytest.raises(UserError) as caught:
        load_tokenizer(str(vocab_path), cased=False)
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_missing_and_unreadable_files(tmp_path):
    assert_user_error(tmp_path / "nope.txt", "not found", "nope.txt")
    assert_user_error(tmp_path / "nope.model", "not found", "nope.model")
    assert_user_error(tmp_path, str(tmp_path))


def test_vocab_not_utf8(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_bytes("[PAD]\n[UNK]\n[CLS]\n[SEP]\n".encode() + b"caf\xe9\n")
    assert_user_error(path, "UTF-8", "line 5")


def test_vocab_lacking_special_tokens(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[UNK]\n[CLS]\nhello\n", encoding="utf-8")
    assert_user_error(path, "[SEP]", "[PAD]")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert_user_error(empty, "[CLS]")


def test_model_that_sentencepiece_cannot_load(tmp_path, tiny_vocab):
    garbage = tmp_path / "garbage.model"
    garbage.write_bytes(b"\x00not a model\xff")
    assert_user_error(garbage, "garbage.model", "SentencePiece")
    wordpiece_as_model = tmp_path / "vocab.model"
    wordpiece_as_model.write_bytes(Path(tiny_vocab).read_bytes())
    assert_user_error(wordpiece_as_model, "vocab.model")


def test_model_lacking_albert_pieces(tmp_path, training_sentences):
    model = train_sentencepiece(tmp_path / "bare", training_sentences[:300], vocab_size=200)
    assert_user_error(model, "[CLS]", "[SEP]")
