"""Where the tests find real data: one setting, POWER_BERT_DATA.

The real rows (GLUE tasks, IMDB reviews, the original PoWER-BERT README) are not in the
repository: they lie in one data folder, by default `shared` beside the checkout
(`../shared` from the repository's root), or wherever POWER_BERT_DATA points
(docs/SPEC.md §7 says what it holds). A test that needs a part of it asks `real_data` for
the path; where that part is missing the test is skipped, with one line naming the part and
how to get it, so that a clone without the folder still runs every other test.
"""

import collections
import os
from pathlib import Path

import pytest

VARIABLE = "POWER_BERT_DATA"
ROOT = Path(os.environ.get(VARIABLE) or Path(__file__).resolve().parents[2] / "shared")
# Every skip for want of data starts so: the summary below finds them by it.
_SKIP = "real data: "

# What each top-level folder holds, for the skip's line: a reader must know what to fetch.
_WHAT = {
    "glue": "real GLUE rows in GLUE's own TSV formats, a folder per task",
    "imdb": "IMDB reviews (Maas et al. 2011) in SST-2's layout",
    "reference": "the original PoWER-BERT's README.md, from github.com/IBM/PoWER-BERT",
    "trec": "the TREC question classification CSVs (Li and Roth 2002), trec/README.md",
}


def real_data(*parts):
    """The path of a part of the data folder, e.g. `real_data("glue", "MRPC")`.

    Skips the calling test (or every test of a fixture that calls it) where the path does
    not exist: without the whole folder all such tests skip with the same line.
    """
    if not ROOT.is_dir():
        pytest.skip(f"{_SKIP}no folder at {ROOT}, which holds the GLUE and IMDB rows these "
                    f"tests read (docs/SPEC.md §7): put it there or set {VARIABLE} to it")
    # The outermost missing part: a missing glue/MRPC is one line, not one per file in it.
    for end in range(1, len(parts) + 1):
        if not ROOT.joinpath(*parts[:end]).exists():
            pytest.skip(f"{_SKIP}{ROOT} has no {'/'.join(parts[:end])} "
                        f"({_WHAT.get(parts[0], 'what the tests read')}; docs/SPEC.md §7): "
                        "add it")
    return ROOT.joinpath(*parts)


def pytest_terminal_summary(terminalreporter):
    """Names the skips for want of data, one line per missing part with its count of tests.

    pytest's own -rs lists a line per test location; this names what to fetch once, and
    without a flag. conftest.py imports this hook, which is what makes pytest call it.
    """
    counts = collections.Counter()
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        if _SKIP in reason:
            counts[reason[reason.index(_SKIP):]] += 1
    for reason, count in counts.items():
        terminalreporter.write_line(f"{count} skipped, {reason}")
