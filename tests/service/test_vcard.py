"""vCard 3.0 / 4.0 import and export of contacts (issue 16), on every store."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
from teamcrm.cli import main
from teamcrm.errors import ValidationError
from teamcrm.views import MissingDependency

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    if request.param == "postgres":
        with pg_support.schemas() as made, teamcrm.open(made.new()) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 't.db'}"
    with teamcrm.open(url) as c:
        yield c


def _admin(crm: teamcrm.CRM, name: str = "Acme") -> teamcrm.MemberSession:
    _, admin = crm.create_team(name, admin_name="Ana")
    return crm.as_member(admin.id)


def _by_name(session: teamcrm.MemberSession) -> dict[str, teamcrm.Contact]:
    return {r.contact.display_name: r.contact for r in session.search(limit=500).rows}


def _company_names(session: teamcrm.MemberSession, contact: teamcrm.Contact) -> list[str]:
    names = {c.id: c.name for c in session.companies()}
    return [names[c] for c in contact.company_ids]


def test_an_apple_vcard_3_file_imports_names_emails_phones_org_and_note(
    crm: teamcrm.CRM,
) -> None:
    ana = _admin(crm)
    report = ana.import_contacts(DATA / "apple_contacts_3.vcf")
    assert (report.format, report.rows, report.created, report.errors) == ("vcard", 3, 3, [])
    assert report.ignored_columns == ["CATEGORIES"]
    people = _by_name(ana)
    assert set(people) == {"Maria Garcia", "Zoë Müller", "Li Wei"}
    maria = people["Maria Garcia"]
    assert [(e.address, e.label) for e in maria.emails] == [
        ("maria@garcia-realty.example", "work"),
        ("maria.g@example.com", "home"),
    ]
    assert [(p.number, p.label) for p in maria.phones] == [
        ("+16175550101", "mobile"),
        ("+16175550102", "work"),
    ]
    assert _company_names(ana, maria) == ["Garcia Realty"]
    assert maria.custom_fields["note"] == (
        "Met at the open house on Elm Street, wants a 3-bedroom with a garden"
        " and a garage. Call after 5pm."
    )  # the folded line is unfolded, the escaped comma unescaped
    zoe = people["Zoë Müller"]
    assert (zoe.first_name, zoe.last_name) == ("Zoë", "Müller")
    assert [(p.number, p.label) for p in zoe.phones] == [("+49301234567", "mobile")]
    li = people["Li Wei"]  # an empty N: the FN is split
    assert (li.first_name, li.last_name) == ("Li", "Wei")
    assert [(p.number, p.label) for p in li.phones] == [("+16175550103;ext=12", "home")]


def test_a_vcard_4_file_imports_uri_phones_and_utf8_names(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    report = ana.import_contacts(DATA / "rfc6350_contacts_4.vcf")
    assert (report.created, report.errors) == (2, [])
    people = _by_name(ana)
    peter = people["Peter Novák"]
    assert sorted((p.number, p.label) for p in peter.phones) == [
        ("+12125550198", "mobile"),
        ("+12125550199;ext=12", "work"),
    ]
    assert _company_names(ana, peter) == ["Novák Labs"]
    assert peter.custom_fields["note"].endswith("a demo of the reporting module.")
    jose = people["José Ñúñez"]
    assert [(e.address, e.label) for e in jose.emails] == [("jose@example.org", "home")]


def test_categories_become_buckets_only_when_mapped(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    web = ana.create_bucket("Website leads")
    ana.import_contacts(DATA / "rfc6350_contacts_4.vcf")
    assert not ana.search(bucket_id=web.id).rows
    other = _admin(crm, "Beta")
    web2 = other.create_bucket("Website leads")
    report = other.import_contacts(
        DATA / "rfc6350_contacts_4.vcf", mapping={"CATEGORIES": "bucket"}
    )
    assert report.created == 2
    assert [r.contact.display_name for r in other.search(bucket_id=web2.id).rows] == ["José Ñúñez"]
    # a category that names no bucket is a bad row, naming the column
    with pytest.raises(teamcrm.importing.ImportFailed) as failed:
        _admin(crm, "Gamma").import_contacts(
            DATA / "apple_contacts_3.vcf", mapping={"CATEGORIES": "bucket"}
        )
    assert [(e.row, e.column) for e in failed.value.report.errors] == [(1, "CATEGORIES")]


def test_vcard_export_writes_only_what_the_member_may_see(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    ana.create_contact("Hidden", "Ana", emails=["hidden@example.com"])
    company = bob.create_company("Bob's Shop")
    bob.create_contact(
        "Zoë",
        "Müller",
        emails=["zoe@example.de"],
        phones=["+49 30 1234567"],
        company_ids=[company.id],
    )
    out = io.StringIO()
    assert bob.export_contacts(out, format="vcard") == 1
    text = out.getvalue()
    assert text.count("BEGIN:VCARD") == 1
    assert "FN:Zoë Müller" in text
    assert "ORG:Bob's Shop" in text
    assert "TEL:+49301234567" in text
    assert "hidden@example.com" not in text
    full = io.StringIO()
    assert ana.export_contacts(full, format="vcard") == 2


def test_a_vcf_path_is_read_and_written_as_vcard(crm: teamcrm.CRM, tmp_path: Path) -> None:
    ana = _admin(crm)
    ana.import_contacts(DATA / "apple_contacts_3.vcf")
    target = tmp_path / "all.VCF"
    assert ana.export_contacts(target) == 3
    assert target.read_text(encoding="utf-8").startswith("BEGIN:VCARD")
    again = ana.import_contacts(target)
    assert (again.format, again.created, len(again.skipped)) == ("vcard", 0, 3)


def test_without_vobject_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vobject", None)  # import vobject raises ImportError
    with teamcrm.open("memory://") as crm:
        ana = _admin(crm)
        with pytest.raises(MissingDependency, match=r"teamcrm\[vcard\]"):
            ana.import_contacts(DATA / "apple_contacts_3.vcf")
        with pytest.raises(MissingDependency, match=r"teamcrm\[vcard\]"):
            ana.export_contacts(io.StringIO(), format="vcard")
        # CSV needs nothing
        assert ana.import_contacts(io.StringIO("name,email\nA B,a@example.com\n")).created == 1


def test_a_file_that_is_not_a_vcard_is_refused() -> None:
    with teamcrm.open("memory://") as crm:
        ana = _admin(crm)
        with pytest.raises(ValidationError, match="not a vCard"):
            ana.import_contacts(io.StringIO("BEGIN:VCARD\nVERSION:3.0\nN:\x01;\n"), format="vcard")
        with pytest.raises(ValidationError, match="format"):
            ana.import_contacts(io.StringIO(""), format="xls")  # type: ignore[arg-type]


_name = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzÀÉÖßçñ -", min_size=1, max_size=12)
    .map(str.strip)
    .filter(lambda s: s != "" and "  " not in s)
)
PHONES = [f"+1617555{n:04d}" for n in range(100, 130)] + ["+12125550199;ext=12", "+49301234567"]
DOMAINS = {
    None: "gmail.com",
    "Acme": "acme.example",
    "Zoë GmbH": "zoe.example",
    "Ñ, Inc.": "n.example",
}
LABELS = [None, "mobile", "work", "home", "main", "fax", "pager"]


@st.composite
def _people(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=5))
    phones = draw(st.permutations(PHONES))
    out = []
    for i in range(count):
        company = draw(st.sampled_from([None, "Acme", "Zoë GmbH", "Ñ, Inc."]))
        domain = DOMAINS[company]  # a company's people share its domain (it is matched by it)
        emails = [
            {
                "address": f"p{i}.{j}@{domain}",
                "label": draw(st.sampled_from([None, "work", "home"])),
            }
            for j in range(draw(st.integers(min_value=1, max_value=3)))
        ]
        out.append(
            {
                "first": draw(_name),
                "last": draw(_name.filter(lambda s: " " not in s)),
                "emails": emails,
                "phones": [
                    {"number": n, "label": draw(st.sampled_from(LABELS))}
                    for n in phones[i * 4 : i * 4 + draw(st.integers(min_value=0, max_value=4))]
                ],
                "company": company,
                "note": draw(
                    st.sampled_from([None, "Line one,\nline two; with a ; and : and \\ too"])
                ),
            }
        )
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=_people())
def test_vcard_export_then_import_gives_equal_contacts(people: list[dict[str, Any]]) -> None:
    with teamcrm.open("memory://") as crm:
        ana = _admin(crm, "From")
        for p in people:
            company_ids = []
            if p["company"]:
                found = [c for c in ana.companies() if c.name == p["company"]]
                company_ids = [(found[0] if found else ana.create_company(p["company"])).id]
            ana.create_contact(
                p["first"],
                p["last"],
                emails=[teamcrm.EmailAddress(**e) for e in p["emails"]],
                phones=[teamcrm.PhoneNumber(**ph) for ph in p["phones"]],
                company_ids=company_ids,
                custom_fields={"note": p["note"]} if p["note"] else {},
            )
        out = io.StringIO()
        assert ana.export_contacts(out, format="vcard") == len(people)
        ivy = _admin(crm, "To")
        report = ivy.import_contacts(io.StringIO(out.getvalue()), format="vcard")
        assert (report.created, report.errors) == (len(people), [])

        def seen(s: teamcrm.MemberSession) -> list[tuple[Any, ...]]:
            return sorted(
                (
                    c.first_name,
                    c.last_name,
                    sorted((e.address, e.label or "") for e in c.emails),
                    sorted((p.number, p.label or "") for p in c.phones),
                    _company_names(s, c),
                    dict(c.custom_fields),
                )
                for c in (r.contact for r in s.search(limit=500).rows)
            )

        assert seen(ivy) == seen(ana)


def test_cli_imports_and_exports_vcards(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.db"
    with teamcrm.open(f"sqlite:///{db}") as crm:
        crm.create_team("Acme", admin_name="Ana")
    base = ["--db", str(db), "--as", "Ana"]
    assert main(["import", "contacts", str(DATA / "rfc6350_contacts_4.vcf"), *base]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("imported 2 rows: 2 created")
    assert main(["export", "contacts", *base, "--format", "vcard"]) == 0
    assert capsys.readouterr().out.count("BEGIN:VCARD") == 2
    target = tmp_path / "out.vcf"
    assert main(["export", "contacts", *base, "-o", str(target)]) == 0
    assert "FN:José Ñúñez" in target.read_text(encoding="utf-8")


def test_export_runs_a_saved_filter_as_the_member_sees_it(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    ana.create_contact("Amy", "Lee", emails=["amy@example.com"], status="active")
    ana.create_contact("Ben", "Ode", emails=["ben@example.com"])
    mine = ana.save_filter("Active", {"status": "active"})
    out = io.StringIO()
    assert ana.export_contacts(out, filter_id=mine.id, format="vcard") == 1
    assert "amy@example.com" in out.getvalue()
    csv_out = io.StringIO()
    assert ana.export_contacts(csv_out, filter_id=mine.id) == 1
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    with pytest.raises(teamcrm.NotFound):  # Ana's own filter: Bob cannot run it
        bob.export_contacts(io.StringIO(), filter_id=mine.id)
    with pytest.raises(ValidationError, match="not both"):
        ana.export_contacts(io.StringIO(), filter_id=mine.id, query={"status": "active"})
