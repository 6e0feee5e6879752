"""CSV import and export of contacts (issue 16): presets, encodings, dedupe, modes, routing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pg_support
import teamcrm
from teamcrm.cli import main
from teamcrm.errors import TeamCRMError, ValidationError
from teamcrm.importing import ImportFailed, open_table

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


@attrs.define
class Desk:
    crm: teamcrm.CRM
    ana: teamcrm.MemberSession  # admin
    bob: teamcrm.MemberSession  # agent
    web: str  # a pool's source bucket


def _desk(crm: teamcrm.CRM) -> Desk:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    web = ana.create_bucket("Website leads")
    ana.create_pool(
        "Web",
        source_bucket_ids=[web.id],
        member_ids=[ana.member_id, bob.member_id],
        method="round_robin",
    )
    return Desk(crm, ana, bob, web.id)


def _people(session: teamcrm.MemberSession) -> dict[str, teamcrm.Contact]:
    return {r.contact.display_name: r.contact for r in session.search(limit=500).rows}


def _counts(crm: teamcrm.CRM, team_id: str) -> tuple[int, int, int, int]:
    with crm.store.unit_of_work(write=False) as uow:
        t: Any = team_id
        return (
            len(list(uow.contacts.all(t))),
            len(list(uow.companies.all(t))),
            len([ld for ld in uow.leads.all(t) if ld.is_open]),
            len(list(uow.outbox.read(t))),
        )


def _csv(text: str) -> io.StringIO:
    return io.StringIO(text)


# ------------------------------------------------------------------- presets
@pytest.mark.parametrize(
    ("name", "preset", "expected"),
    [
        (
            "google_contacts.csv",
            "google",
            {
                "Maria Garcia": (
                    {"maria@garcia-realty.example", "maria.g@example.com"},
                    {"+16175550101", "+16175550102"},
                    {"Garcia Realty"},
                ),
                "John Smith": (
                    {"john.smith@example.com", "jqs@example.org"},
                    {"+16175550103"},
                    set(),
                ),
                "Ana Souza": ({"ana@acme.example"}, set(), {"Acme Corp"}),
            },
        ),
        (
            "google_contacts_legacy.csv",
            "google",
            {
                "Maria Garcia": (
                    {"maria@garcia-realty.example"},
                    {"+16175550101"},
                    {"Garcia Realty"},
                ),
                "Li Wei": ({"li.wei@example.com"}, set(), set()),
            },
        ),
        (
            "outlook_contacts.csv",
            "outlook",
            {
                "Maria Garcia": (
                    {"maria@garcia-realty.example"},
                    {"+16175550101", "+16175550102"},
                    {"Garcia Realty"},
                ),
                "Peter Novak": (
                    {"peter.novak@example.com", "pnovak@example.org"},
                    {"+12125550199;ext=12"},
                    {"Novak & Sons"},
                ),
            },
        ),
        (
            "generic_bom_semicolon.csv",
            "generic",
            {
                "Zoë Müller": ({"zoe@example.de"}, {"+4930901820"}, {"Müller GmbH"}),
                "Jürgen Groß": ({"juergen@example.de"}, set(), set()),
            },
        ),
        ("generic_cp1252.csv", "generic", {"René Dupré": ({"rene@example.fr"}, set(), set())}),
    ],
)
def test_exporters_files_import_with_their_preset(
    crm: teamcrm.CRM, name: str, preset: str, expected: dict[str, Any]
) -> None:
    d = _desk(crm)
    report = d.ana.import_contacts(DATA / name, preset=preset)
    assert report.committed
    assert not report.errors
    assert report.created == len(expected)
    companies = {c.id: c.name for c in d.ana.companies()}
    got = {
        n: (
            {e.address for e in c.emails},
            {p.number for p in c.phones},
            {companies[i] for i in c.company_ids},
        )
        for n, c in _people(d.ana).items()
    }
    assert got == expected


def test_encoding_and_delimiter_are_detected() -> None:
    with open_table(DATA / "generic_bom_semicolon.csv") as t:
        assert (t.encoding, t.delimiter) == ("utf-8-sig", ";")
        assert t.header[0] == "first_name"  # the byte-order mark is gone
        assert [n for n, _ in t.rows] == [2, 3]
    with open_table(DATA / "generic_cp1252.csv") as t:
        assert t.encoding == "cp1252"
        assert next(t.rows)[1][:2] == ["René", "Dupré"]
    with open_table(_csv("\ufeffname\tEmail\nA B\ta@example.com\n")) as t:
        assert (t.delimiter, t.header) == ("\t", ["name", "Email"])


def test_bad_arguments_and_headers_are_refused(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    with pytest.raises(ValidationError, match="header"):
        d.ana.import_contacts(_csv("colour,size\nred,1\n"))
    with pytest.raises(ValidationError, match="preset"):
        d.ana.import_contacts(_csv("email\na@example.com\n"), preset="lotus")
    with pytest.raises(ValidationError, match="on_duplicate"):
        d.ana.import_contacts(_csv("email\na@example.com\n"), on_duplicate="merge")
    with pytest.raises(ValidationError, match="mapping"):
        d.ana.import_contacts(_csv("email\na@example.com\n"), mapping={"email": "fax"})
    with pytest.raises(ValidationError, match="source"):
        d.ana.import_contacts(DATA / "missing.csv")
    assert _counts(crm, d.ana.team_id)[0] == 0


def test_a_custom_mapping_fills_custom_fields_status_and_buckets(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    vip = d.ana.create_bucket("VIP")
    text = "Who,Mail,Budget,Stage,List\nMaria Garcia,maria@example.com,500k,active,vip\n"
    mapping = {
        "Who": "name",
        "Mail": "email",
        "Budget": "custom:budget",
        "Stage": "status",
        "List": "bucket",
    }
    report = d.ana.import_contacts(_csv(text), mapping=mapping)
    assert report.created == 1
    maria = _people(d.ana)["Maria Garcia"]
    assert maria.custom_fields == {"budget": "500k"}
    assert maria.status == "active"
    assert [c.id for c in d.ana.bucket_contacts(vip.id)] == [maria.id]


# ------------------------------------------------------------ dry run, modes
BAD = (
    "first_name,last_name,email,phone,company\n"
    "Maria,Garcia,maria@example.com,(617) 555-0101,Garcia Realty\n"
    "Bad,Email,bad@@example.com,,\n"
    "John,Smith,john@example.com,617-555-0103,\n"
    "Bad,Phone,,12,\n"
)


@pytest.mark.parametrize("mode", ["all_or_nothing", "skip_bad_rows"])
def test_a_dry_run_reports_everything_and_writes_nothing(crm: teamcrm.CRM, mode: str) -> None:
    d = _desk(crm)
    before = _counts(crm, d.ana.team_id)
    report = d.ana.import_contacts(_csv(BAD), mode=mode, dry_run=True, bucket_id=d.web)
    assert (report.rows, report.created, report.companies_created) == (4, 2, 1)
    assert [(e.row, e.column) for e in report.errors] == [(3, "email"), (5, "phone")]
    assert not report.committed
    assert _counts(crm, d.ana.team_id) == before
    clean = "".join(line for line in BAD.splitlines(keepends=True) if "Bad," not in line)
    report = d.ana.import_contacts(_csv(clean), mode=mode, dry_run=True, bucket_id=d.web)
    assert (report.created, report.errors, report.committed) == (2, [], False)
    assert _counts(crm, d.ana.team_id) == before


def test_all_or_nothing_aborts_with_the_report_and_writes_nothing(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    before = _counts(crm, d.ana.team_id)
    with pytest.raises(ImportFailed) as info:
        d.ana.import_contacts(_csv(BAD), bucket_id=d.web, batch=1)
    assert isinstance(info.value, TeamCRMError)
    report = info.value.report
    assert [(e.row, e.column, e.value) for e in report.errors] == [
        (3, "email", "bad@@example.com"),
        (5, "phone", "12"),
    ]
    assert report.created == 2
    assert not report.committed
    assert _counts(crm, d.ana.team_id) == before


def test_skip_bad_rows_commits_the_good_rows_in_batches(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    seen: list[int] = []
    report = d.ana.import_contacts(
        _csv(BAD), mode="skip_bad_rows", batch=2, progress=seen.append, bucket_id=d.web
    )
    assert report.committed
    assert report.created == 2
    assert len(report.errors) == 2
    assert seen == [2, 4]
    assert set(_people(d.ana)) == {"Maria Garcia", "John Smith"}
    assert [c.name for c in d.ana.companies()] == ["Garcia Realty"]


# ------------------------------------------------------------------ dedupe
DUPES = (
    "first_name,last_name,email,phone,source,status\n"
    "Maria,Garcia-Lopez,MARIA@example.com,,fair,priority\n"  # the stored Maria, by email
    "Mary,,,+1 617 555 0101,,\n"  # the stored Maria, by phone
    "John,Smith,john@example.com,,fair,\n"
    "Johnny,Smith,,,,\n"  # no key: a new contact
    "J.,Smith,john@example.com,617-555-0109,web,\n"  # John of row 4, within the file
)


def _stored_maria(d: Desk) -> teamcrm.Contact:
    return d.ana.create_contact(
        "Maria", "", emails=["maria@example.com"], phones=["(617) 555-0101"]
    )


def test_on_duplicate_skip_leaves_matches_alone(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    maria = _stored_maria(d)
    report = d.ana.import_contacts(_csv(DUPES), on_duplicate="skip")
    assert (report.created, report.updated) == (2, 0)
    assert [(s.row, s.reason) for s in report.skipped] == [
        (2, "duplicate (maria@example.com)"),
        (3, "duplicate (+16175550101)"),
        (6, "duplicate (john@example.com)"),
    ]
    assert report.skipped[0].contact_id == maria.id
    assert d.ana.contact(maria.id) == maria
    john = _people(d.ana)["John Smith"]
    assert [p.number for p in john.phones] == []


def test_on_duplicate_fill_empty_fills_only_empty_fields(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    maria = _stored_maria(d)
    report = d.ana.import_contacts(_csv(DUPES), on_duplicate="fill_empty")
    assert (report.created, report.updated, report.skipped) == (2, 3, [])
    now = d.ana.contact(maria.id)
    assert (now.first_name, now.last_name, now.source) == ("Maria", "Garcia-Lopez", "fair")
    assert now.status == maria.status  # never empty: kept
    assert now.version == maria.version + 1  # two rows, one write
    john = _people(d.ana)["John Smith"]
    assert ([p.number for p in john.phones], john.source) == (["+16175550109"], "fair")


def test_on_duplicate_overwrite_replaces_with_the_rows_values(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    maria = _stored_maria(d)
    report = d.ana.import_contacts(_csv(DUPES), on_duplicate="overwrite")
    assert (report.created, report.updated) == (2, 3)
    now = d.ana.contact(maria.id)
    assert (now.first_name, now.last_name) == ("Mary", "")  # row 3 came last
    assert (now.source, now.status) == ("fair", "priority")  # empty cells clear nothing
    assert [e.address for e in now.emails] == ["maria@example.com"]
    names = set(_people(d.ana))
    assert names == {"Mary", "J. Smith", "Johnny Smith"}


def test_dedupe_sees_only_the_contacts_the_member_can_see(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    hidden = _stored_maria(d)  # Ana's, in no bucket Bob can view
    report = d.bob.import_contacts(_csv("name,email\nMaria G,maria@example.com\n"))
    assert report.created == 1
    assert not report.skipped
    assert hidden.id not in {c.id for c in _people(d.bob).values()}


# ------------------------------------------------------------------ routing
def test_an_import_into_a_source_bucket_routes_every_new_contact(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    rows = "".join(f"P{i},Person,p{i}@example.com\n" for i in range(5))
    report = d.ana.import_contacts(
        _csv("first_name,last_name,email\n" + rows),
        bucket_id=d.web,
        mode="skip_bad_rows",
        batch=2,
    )
    assert report.created == 5
    with crm.store.unit_of_work(write=False) as uow:
        leads = [ld for ld in uow.leads.all(d.ana.team_id) if ld.is_open]  # type: ignore[arg-type]
    assert len(leads) == 5
    assert {ld.assignee_id for ld in leads} == {d.ana.member_id, d.bob.member_id}


# ------------------------------------------------------------------- export
def test_export_writes_only_the_contacts_the_member_can_see(crm: teamcrm.CRM) -> None:
    d = _desk(crm)
    d.ana.create_contact("Hidden", "Ana", emails=["hidden@example.com"])
    mine = d.bob.create_contact("Bob's", "Client", emails=["client@example.com"])
    out = io.StringIO()
    assert d.bob.export_contacts(out) == 1
    text = out.getvalue()
    assert "client@example.com" in text
    assert "hidden@example.com" not in text
    assert text.splitlines()[0] == "first_name,last_name,email,phone,company,status,source"
    full = io.StringIO()
    assert d.ana.export_contacts(full, preset="outlook") == 2
    d.ana.add_to_bucket(d.web, mine.id)
    only = io.StringIO()
    assert d.ana.export_contacts(only, bucket_id=d.web, preset="google") == 1
    assert "client@example.com" in only.getvalue()


def test_export_to_a_path_round_trips(crm: teamcrm.CRM, tmp_path: Path) -> None:
    d = _desk(crm)
    d.ana.import_contacts(DATA / "outlook_contacts.csv", preset="outlook")
    target = tmp_path / "out.csv"
    assert d.ana.export_contacts(target, preset="outlook") == 2
    assert not (tmp_path / "out.csv.partial").exists()
    report = d.ana.import_contacts(target, preset="outlook")
    assert (report.created, len(report.skipped)) == (0, 2)


PHONES = [f"+1617555{n:04d}" for n in range(100, 130)] + ["+12125550199;ext=12"]
_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÀÉÖßçñ", min_size=1, max_size=10)


@st.composite
def _people_lists(draw: st.DrawFn) -> list[tuple[str, str, list[str], list[str]]]:
    count = draw(st.integers(min_value=0, max_value=6))
    phones = draw(st.permutations(PHONES))
    out = []
    for i in range(count):
        emails = [f"{draw(_name.filter(str.isascii))}.{i}.{j}@example.com" for j in range(3)]
        out.append(
            (
                draw(_name),
                draw(_name),
                emails[: draw(st.integers(min_value=1, max_value=3))],
                phones[i * 4 : i * 4 + draw(st.integers(min_value=0, max_value=4))],
            )
        )
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=_people_lists(), preset=st.sampled_from(["generic", "google", "outlook"]))
def test_export_then_import_into_an_empty_team_gives_the_same_contacts(
    people: list[tuple[str, str, list[str], list[str]]], preset: str
) -> None:
    with teamcrm.open("memory://") as crm:
        _, admin = crm.create_team("From", admin_name="Ana")
        ana = crm.as_member(admin.id)
        for first, last, emails, phones in people:
            ana.create_contact(first, last, emails=emails, phones=phones)
        out = io.StringIO()
        ana.export_contacts(out, preset=preset)
        _, admin2 = crm.create_team("To", admin_name="Ivy")
        ivy = crm.as_member(admin2.id)
        report = ivy.import_contacts(io.StringIO(out.getvalue()), preset=preset)
        assert report.created == len(people)

        def seen(s: teamcrm.MemberSession) -> list[tuple[str, str, list[str], list[str]]]:
            return sorted(
                (
                    c.first_name,
                    c.last_name,
                    sorted(e.address for e in c.emails),
                    sorted(p.number for p in c.phones),
                )
                for c in (r.contact for r in s.search(limit=500).rows)
            )

        assert seen(ivy) == seen(ana)


# ---------------------------------------------------------------------- CLI
def test_cli_imports_and_exports_contacts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.db"
    with teamcrm.open(f"sqlite:///{db}") as crm:
        crm.create_team("Acme", admin_name="Ana")
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD, encoding="utf-8")
    base = ["--db", str(db), "--as", "Ana"]
    assert main(["import", "contacts", str(bad), *base]) == 1
    out = capsys.readouterr().out
    assert "row 3\temail\tbad@@example.com" in out
    assert out.splitlines()[-1].startswith("aborted 4 rows: 2 created")
    assert main(["import", "contacts", str(bad), *base, "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("would import 4 rows")
    assert main(["import", "contacts", str(bad), *base, "--skip-bad-rows", "--format", "json"]) == 0
    assert '"created": 2' in capsys.readouterr().out
    assert main(["export", "contacts", *base, "--preset", "google"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("First Name,Last Name,E-mail 1 - Value")
    assert len(out.splitlines()) == 3
    target = tmp_path / "out.csv"
    assert main(["export", "contacts", *base, "-o", str(target)]) == 0
    assert "maria@example.com" in target.read_text(encoding="utf-8")


def test_rows_are_streamed_not_read_whole() -> None:
    with teamcrm.open("memory://") as crm:
        _, admin = crm.create_team("Acme", admin_name="Ana")
        ana = crm.as_member(admin.id)
        pad = "x" * 200  # an ignored column: a file much larger than the 64 KiB sample
        rows = "".join(f"P{i},Person,p{i}@example.com,{pad}\n" for i in range(1000))
        source = io.StringIO("first_name,last_name,email,notes\n" + rows)
        size = len(source.getvalue())
        read_at: list[int] = []
        report = ana.import_contacts(
            source,
            mode="skip_bad_rows",
            batch=100,
            progress=lambda n: read_at.append(source.tell()),
        )
        assert report.created == 1000
        assert read_at[0] < size // 2  # the first batch was written long before the end
