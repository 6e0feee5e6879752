"""``MemberSession.search_companies``: by name and domain, only what the member may see."""

from __future__ import annotations

from pathlib import Path

import pytest

import teamcrm
from teamcrm.errors import ValidationError


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_company_search_by_name_and_domain_shows_only_visible_companies(
    kind: str, tmp_path: Path
) -> None:
    crm = teamcrm.open("memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'c.db'}")
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
    crm.close()
