"""``MemberSession.search_companies``: by name and domain, only what the member may see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm.errors import ValidationError


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    if request.param == "postgres":
        with pg_support.schemas() as made, teamcrm.open(made.new()) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    with teamcrm.open(url) as c:
        yield c


def test_company_search_by_name_and_domain_shows_only_visible_companies(
    crm: teamcrm.CRM,
) -> None:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob").id)
    globex = ana.create_company("Globex Corporation", domain="globex.com")
    greek = ana.create_company("Ανδρέου Ναυτιλιακή", domain="Andreou.GR")
    hidden = ana.create_company("Globetrotters", domain="trot.io")
    own = bob.create_company("Андрей и сыновья")
    bucket = ana.create_bucket("Shared")
    ana.share_with_team(bucket.id)
    ana.add_to_bucket(bucket.id, [globex.id, greek.id])

    def ids(view: teamcrm.views.View[teamcrm.views.CompanyRow]) -> list[str]:
        return [row.company_id for row in view]

    assert ids(ana.search_companies("glob")) == [globex.id, hidden.id]
    assert ids(bob.search_companies("glob")) == [globex.id]
    assert ids(bob.search_companies("ανδρεου")) == [greek.id]
    assert ids(bob.search_companies(domain="andreou.gr")) == [greek.id]
    assert ids(bob.search_companies("андре")) == [own.id]
    assert ids(ana.search_companies(domain="TROT.IO")) == [hidden.id]
    assert ids(bob.search_companies(domain="trot.io")) == []
    first = ana.search_companies(limit=2)
    assert first.next_cursor is not None
    rest = ana.search_companies(limit=2, after=first.next_cursor)
    assert ids(first) + ids(rest) == [globex.id, greek.id, hidden.id, own.id]
    with pytest.raises(ValidationError):
        ana.search_companies("-")


def test_company_search_follows_renames_new_domains_and_deletions(crm: teamcrm.CRM) -> None:
    """The name and domain indexes (SQLite ``0460``/``0470``, PostgreSQL ``0470``) keep up."""
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    globex = ana.create_company("Globex Corporation", domain="globex.com")
    other = ana.create_company("Initech", domain="initech.com")

    def ids(name: str | None = None, domain: str | None = None) -> list[str]:
        return [row.company_id for row in ana.search_companies(name, domain=domain)]

    ana.update_company(globex.id, name="Łódź Shipping", domain="LODZ.pl")
    assert ids("glob") == []
    assert ids("lodz") == [globex.id]
    assert ids("lodz ship") == [globex.id]
    assert ids("lodz corp") == []
    assert ids(domain="globex.com") == []
    assert ids(domain="lodz.PL") == [globex.id]
    ana.delete_company(globex.id)
    assert ids("lodz") == []
    assert ids(domain="lodz.pl") == []
    assert ids("initech", domain="INITECH.com") == [other.id]
