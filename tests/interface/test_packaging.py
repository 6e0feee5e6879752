"""What pyproject.toml promises: a build floor that builds, a plain psycopg extra, one version."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path
from typing import Any

import teamcrm

ROOT = Path(__file__).resolve().parents[2]


def _project() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)


def test_build_floor_is_a_hatchling_that_understands_license_files() -> None:
    # hatchling 1.21 and 1.25 fail on `license-files` (a list); 1.26.3 builds the wheel.
    requires = _project()["build-system"]["requires"]
    (hatchling,) = [r for r in requires if r.startswith("hatchling")]
    floor = re.fullmatch(r"hatchling>=(\d+)\.(\d+)\.(\d+)", hatchling)
    assert floor, hatchling
    assert tuple(int(p) for p in floor.groups()) >= (1, 26, 3)


def test_postgres_extra_leaves_the_libpq_choice_to_the_application() -> None:
    extras = _project()["project"]["optional-dependencies"]
    assert not [r for r in extras["postgres"] if "[binary]" in r], extras["postgres"]
    assert any(r.startswith("psycopg[binary]") for r in extras["postgres-binary"])
    assert "teamcrm[postgres]" in extras["postgres-binary"]


def test_no_license_classifier_beside_the_license_expression() -> None:
    project = _project()["project"]
    assert project["license"] == "MIT"
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]


def test_windows_gets_the_time_zone_database() -> None:
    deps = _project()["project"]["dependencies"]
    assert "tzdata; sys_platform == 'win32'" in deps


def test_version_has_one_source() -> None:
    project = _project()
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/teamcrm/__init__.py"
    assert importlib.metadata.version("teamcrm") == teamcrm.__version__


def test_import_does_not_load_smtp_or_tls() -> None:
    # smtplib and ssl cost ~12 ms of `import teamcrm`; they load when a message is sent.
    import subprocess
    import sys

    code = "import sys, teamcrm; print(sorted(m for m in ('smtplib', 'ssl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
