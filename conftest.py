"""Every ``python`` block of README.md and docs/*.md runs as a test, in page order.

`Sybil <https://sybil.readthedocs.io>`_ collects the Markdown pages (the
pytest ``testpaths`` include them): the blocks of one page share one
namespace, so a page reads top to bottom like a session, and each page runs
in an empty temporary directory (files it makes, such as ``team.db``, do not
outlive it).  A block that cannot run here (a server address, a placeholder
package) is preceded by ``<!-- skip: next -->`` and says so in its text.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser


def _enter_scratch_dir(namespace: dict[str, Any]) -> None:
    namespace["__docs_cwd__"] = os.getcwd()
    scratch = tempfile.TemporaryDirectory(prefix="teamcrm-docs-")
    namespace["__docs_tmp__"] = scratch
    os.chdir(scratch.name)


def _leave_scratch_dir(namespace: dict[str, Any]) -> None:
    os.chdir(namespace["__docs_cwd__"])
    for value in list(namespace.values()):  # close stores the page opened
        close = getattr(value, "close", None)
        if type(value).__name__ == "CRM" and callable(close):
            close()
    namespace["__docs_tmp__"].cleanup()


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["README.md", "docs/*.md"],
    setup=_enter_scratch_dir,
    teardown=_leave_scratch_dir,
).pytest()
