"""The `>>>` examples in the library's docstrings run and give what they say."""

import doctest
import importlib

import keras
import pytest

MODULES = ["modeling.bert", "modeling.layers", "extract_layers.extract",
           "extract_layers.soft_extract"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    results = doctest.testmod(importlib.import_module(name), extraglobs={"keras": keras})
    assert results.attempted > 0 and results.failed == 0
