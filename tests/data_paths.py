"""Where the tests find real data: one setting, POWER_BERT_DATA.

The real rows (GLUE tasks, IMDB reviews, the original PoWER-BERT README) are not in the
repository: they lie in one data folder, by default `shared` beside the checkout
(`../shared` from the repository's root), or wherever POWER_BERT_DATA points
(docs/SPEC.md §7 says what it holds). A test that needs a part of it asks `real_data` for
the path; where that part is missing the test is skipped, with one line naming the part and
how to get it, so that a clone without the folder still runs every other test.
"""

import os
from pathlib import Path

import pytest

VARIABLE = "POWER_BERT_DATA"
ROOT = Path(os.environ.get(VARIABLE) or Path(__file__).resolve().parents[2] / "shared")

# What each top-level folder holds, for the skip's line: a reader must know what to fetch.
_WHAT = {
    "glue": "real GLUE rows in GLUE's own TSV formats, a folder per task",
    "imdb": "IMDB reviews (Maas et al. 2011) in SST-2's layout",
    "reference": "the original PoWER-BERT's README.md (github.com/IBM/PoWER-BERT)",
}


def real_data(*parts):
    """The path of a part of the data folder, e.g. `real_data("glue", "MRPC")`.

    Skips the calling test (or every test of a fixture that calls it) where the path does
    not exist: without the whole folder all such tests skip with the same line.
    """
    if not ROOT.is_dir():
        pytest.skip(f"no data folder at {ROOT}: the tests that read real rows (GLUE, IMDB) "
                    f"need it; docs/SPEC.md §7 says what it holds and where it comes from; "
                    f"put it there or set {VARIABLE} to its location")
    path = ROOT.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"the data folder {ROOT} has no {'/'.join(parts)} "
                    f"({_WHAT.get(parts[0], 'what the tests read')}; docs/SPEC.md §7): add it")
    return path
