"""text_files.py: one rule for the text files users give (UTF-8, BOM, CR/CRLF/LF), and every
reader of the project following it."""

import json

import pytest

from checkpoints.convert_hf import _google_config
from data.glue import read_examples
from data.tasks import get_task
from errors import UserError
from modeling.config import load_config
from tests.helpers import make_tiny_run
from text_files import read_text
from training.progress import read_progress

BOM = "\ufeff".encode()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_run(tmp_path_factory.mktemp("tiny"), rows=8)


def _as_editor_saves(text, line_end):
    """`text` as a Windows or old-Mac editor saves it: a BOM, then lines ending in `line_end`."""
    return BOM + text.replace("\n", line_end).encode("utf-8")


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_bom_dropped_and_every_line_end_read_as_newline(tmp_path, line_end):
    path = tmp_path / "f.txt"
    path.write_bytes(_as_editor_saves("caf\u00e9\nb\n\nc\n", line_end))
    assert read_text(path, "test file", "fix it") == "caf\u00e9\nb\n\nc\n"


def test_lone_carriage_return_is_text_unless_it_ends_the_first_line(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"a\r\nb\rc\r\r\nd")
    assert read_text(path, "test file", "fix it") == "a\nb\rc\nd"


def test_a_bom_later_in_the_file_is_text(tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(BOM + b"a\n" + BOM + b"b\n")
    assert read_text(path, "test file", "fix it") == "a\n\ufeffb\n"


@pytest.mark.parametrize("content, words", [
    (None, ["not found", "fix it"]),
    (b"ok\r\nok\r\nbad \xe9\r\n", ["line 3", "not UTF-8", "at byte 4"]),
])
def test_errors_name_the_file(tmp_path, content, words):
    path = tmp_path / "f.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError) as caught:
        read_text(path, "test file", "fix it")
    message = str(caught.value)
    assert "\n" not in message and f"test file {path}" in message
    for word in words:
        assert word in message, message


def _saved_both_ways(text, tmp_path, name):
    """`text` saved as is and as a Windows editor saves it (BOM, CRLF): the two paths."""
    plain, edited = tmp_path / "plain" / name, tmp_path / "edited" / name
    for path in (plain, edited):
        path.parent.mkdir(parents=True, exist_ok=True)
    plain.write_text(text, encoding="utf-8")
    edited.write_bytes(_as_editor_saves(text, "\r\n"))
    return plain, edited


def _pretty(path):
    """`path`'s JSON over several lines, so that its line ends matter."""
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2) + "\n"


# reader -> function(tiny) giving (the plain text of a file, its name, its reader).
READERS = {
    "bert_config": lambda tiny: (_pretty(tiny.config), "bert_config.json", load_config),
    "task config": lambda tiny: (_pretty(tiny.task_config), "task_config.json",
                                 lambda path: get_task("mrpc", path)),
    "Hugging Face config.json": lambda tiny: (_pretty(tiny.config), "config.json",
                                              _google_config),
    "GLUE TSV": lambda tiny: ((tiny.data_dir / "dev.tsv").read_text(encoding="utf-8"), "dev.tsv",
                              lambda path: read_examples(get_task("mrpc"), path.parent, "dev")),
}


@pytest.mark.parametrize("reader", READERS)
def test_every_reader_reads_a_file_with_bom_and_crlf_as_the_plain_one(reader, tiny, tmp_path):
    text, name, read = READERS[reader](tiny)
    plain, edited = _saved_both_ways(text, tmp_path, name)
    assert read(edited) == read(plain)


def test_progress_record_with_bom_and_crlf(tmp_path):
    record = {"arguments": {"TASK": "mrpc"}, "steps": {"fine-tuning": "done"}}
    (tmp_path / "progress.json").write_bytes(
        _as_editor_saves(json.dumps(record, indent=2) + "\n", "\r\n"))
    assert read_progress(tmp_path) == record
