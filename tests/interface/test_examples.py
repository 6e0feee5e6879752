"""Every script in examples/ runs."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart(capsys: pytest.CaptureFixture[str]) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        namespace = runpy.run_path(str(EXAMPLES / "quickstart.py"))
    finally:
        sys.path.remove(str(EXAMPLES))
    record = namespace["main"]()
    out = capsys.readouterr().out
    assert "team buckets: ['Past Clients']" in out
    assert "phone validated: True" in out
    assert "refused: Contact.first_name" in out
    assert record.contact.phones[0].validated
