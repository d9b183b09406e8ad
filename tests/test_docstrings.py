"""The `>>>` examples in the library's docstrings run and give what they say.

The modules are found, not listed: every module of the repository's packages (the folders
at its root with an __init__.py, tests aside) and its top-level modules whose source holds
a `>>>`, so that an example in a new or moved module is run without anyone adding it here.
"""

import doctest
import importlib
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROMPT = ">>> "


def _module_names():
    """Dotted names of the repository's modules whose source holds a `>>>` example."""
    packages = [folder for folder in sorted(ROOT.iterdir())
                if (folder / "__init__.py").is_file() and folder.name != "tests"]
    files = sorted(ROOT.glob("*.py")) + [path for package in packages
                                         for path in sorted(package.rglob("*.py"))]
    return [".".join(path.relative_to(ROOT).with_suffix("").parts) for path in files
            if PROMPT in path.read_text(encoding="utf-8")]


MODULES = _module_names()


def test_examples_are_found():
    # Modules that held examples when the walk was written: without them the walk is broken,
    # and the cases below would vanish instead of failing.
    assert {"modeling.bert", "extract_layers.extract"} <= set(MODULES), MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    # A `>>>` outside a docstring (a string, a comment) is attempted 0 times: it fails here,
    # so a found module cannot pass without running an example.
    results = doctest.testmod(importlib.import_module(name), extraglobs={"keras": keras})
    assert results.attempted > 0 and results.failed == 0
