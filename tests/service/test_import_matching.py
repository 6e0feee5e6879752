"""CSV import (issue 16): files without a header row, and companies matched by email domain."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

import pg_support
import teamcrm
from teamcrm.errors import ValidationError
from teamcrm.importing import FREE_MAIL_DOMAINS, ImportFailed, looks_like_header


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def crm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[teamcrm.CRM]:
    if request.param == "postgres":
        with pg_support.schemas() as made, teamcrm.open(made.new()) as c:
            yield c
        return
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 't.db'}"
    with teamcrm.open(url) as c:
        yield c


def _admin(crm: teamcrm.CRM) -> teamcrm.MemberSession:
    _, admin = crm.create_team("Acme", admin_name="Ana")
    return crm.as_member(admin.id)


def _company_of(session: teamcrm.MemberSession, email: str) -> list[str]:
    contact = session.search(email=email).rows[0].contact
    names = {c.id: c.name for c in session.companies()}
    return [names[c] for c in contact.company_ids]


HEADERLESS = "Maria Garcia,maria@example.com,(617) 555-0101\nJohn Smith,john@@example.com,\n"


# ------------------------------------------------------------ header detection
def test_the_first_row_is_a_header_only_when_it_names_a_known_column() -> None:
    assert looks_like_header(["First Name", "E-mail 1 - Value"], "google", None)
    assert looks_like_header(["Who", "x"], "generic", {"Who": "name"})
    assert not looks_like_header(["Maria Garcia", "maria@example.com"], "generic", None)
    assert not looks_like_header(["Who", "Mail"], "generic", {0: "name"})


def test_a_file_without_a_header_needs_a_positional_mapping(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    with pytest.raises(ValidationError, match="looks like data") as refused:
        ana.import_contacts(io.StringIO(HEADERLESS))
    assert refused.value.field == "header"
    assert ana.search().rows == ()  # nothing written


def test_a_headerless_file_imports_by_position_from_row_1(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    mapping: dict[str | int, str | None] = {0: "name", 1: "email", 2: "phone"}
    with pytest.raises(ImportFailed) as failed:
        ana.import_contacts(io.StringIO(HEADERLESS), mapping=mapping)
    assert [(e.row, e.column) for e in failed.value.report.errors] == [(2, "column 2")]
    report = ana.import_contacts(io.StringIO(HEADERLESS), mapping=mapping, mode="skip_bad_rows")
    assert (report.header, report.rows, report.created) == (False, 2, 1)
    maria = ana.search(email="maria@example.com").rows[0].contact
    assert (maria.first_name, maria.last_name, maria.phones[0].number) == (
        "Maria",
        "Garcia",
        "+16175550101",
    )


def test_header_true_or_false_overrides_the_detection(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    text = "Who,Mail\nLi Wei,li@example.com\n"
    report = ana.import_contacts(io.StringIO(text), mapping={0: "name", 1: "email"}, header=True)
    assert (report.header, report.rows, report.created) == (True, 1, 1)
    assert report.ignored_columns == []
    # header=False: the first row is data even though it names known columns
    with pytest.raises(ImportFailed) as failed:
        ana.import_contacts(
            io.StringIO("name,email\nAmy Lee,amy@example.com\n"),
            mapping={0: "name", 1: "email"},
            header=False,
        )
    assert [(e.row, e.column, e.value) for e in failed.value.report.errors] == [
        (1, "column 2", "email")
    ]


def test_bad_positional_mappings_are_refused(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    for mapping, field in (
        ({5: "name"}, "mapping"),
        ({-1: "name"}, "mapping"),
        ({0: "nonsense"}, "mapping[0]"),
        ({0: "status"}, "mapping"),  # no name, email or phone
    ):
        with pytest.raises(ValidationError) as refused:
            ana.import_contacts(io.StringIO(HEADERLESS), mapping=mapping)  # type: ignore[arg-type]
        assert refused.value.field == field
    with pytest.raises(ValidationError, match="True, False or None"):
        ana.import_contacts(io.StringIO(HEADERLESS), header="yes")  # type: ignore[arg-type]


# ------------------------------------------------------- companies by domain
def test_a_company_is_matched_by_email_domain_before_name(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    acme = ana.create_company("Acme Corporation", domain="www.Acme.com")
    ana.create_company("Globex", domain=None)
    report = ana.import_contacts(
        io.StringIO(
            "name,email,company\n"
            "Jane Roe,jane@ACME.com,ACME Inc\n"  # domain wins over the unknown name
            "Gus Free,gus@gmail.com,acme corporation\n"  # free mail: matched by name
            "Hal Free,hal@gmail.com,Initech\n"  # free mail, new name: created, no domain
            "Nia New,nia@newco.io,NewCo\n"  # created with the domain newco.io
            "Ole New,ole@newco.io,New Co Ltd\n"  # ... so this one joins it
            "Pam Glob,pam@globex.example,Globex\n"  # no company has the domain: by name
        )
    )
    assert (report.created, report.companies_created, report.errors) == (6, 2, [])
    assert _company_of(ana, "jane@acme.com") == ["Acme Corporation"]
    assert _company_of(ana, "gus@gmail.com") == ["Acme Corporation"]
    assert _company_of(ana, "hal@gmail.com") == ["Initech"]
    assert _company_of(ana, "nia@newco.io") == ["NewCo"]
    assert _company_of(ana, "ole@newco.io") == ["NewCo"]
    assert _company_of(ana, "pam@globex.example") == ["Globex"]
    by_name = {c.name: c for c in ana.companies()}
    assert by_name["NewCo"].domain == "newco.io"
    assert by_name["Initech"].domain is None
    assert by_name["Acme Corporation"].id == acme.id


def test_a_company_the_member_cannot_see_is_not_matched_by_domain(crm: teamcrm.CRM) -> None:
    ana = _admin(crm)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    ana.create_company("Secret Client", domain="secret.example")
    report = bob.import_contacts(io.StringIO("name,email,company\nSam,sam@secret.example,Sam Co\n"))
    assert report.companies_created == 1
    assert _company_of(bob, "sam@secret.example") == ["Sam Co"]


def test_the_free_mail_list_holds_the_big_providers() -> None:
    assert {"gmail.com", "outlook.com", "yahoo.com", "icloud.com"} <= FREE_MAIL_DOMAINS


# ------------------------------------------------------- dedupe across batches
@pytest.mark.parametrize("mode", ["all_or_nothing", "skip_bad_rows", "dry_run"])
def test_duplicates_in_later_batches_are_found_in_the_store(crm: teamcrm.CRM, mode: str) -> None:
    ana = _admin(crm)
    bob = crm.as_member(ana.add_member("Bob", role="agent").id)
    ana.create_contact("Hidden", "Ana", emails=["hidden@example.com"])
    text = (
        "name,email,phone\n"
        "Amy Lee,amy@example.com,\n"
        "Amy Again,AMY@example.com,(617) 555-0101\n"  # batch 2: matches row 2 by email
        "Phone Twin,,+1 617 555 0101\n"  # batch 3: matches the phone row 3 added
        "Not Hidden,hidden@example.com,\n"  # Ana's contact: Bob cannot see it
    )
    options: dict[str, object] = {"dry_run": True} if mode == "dry_run" else {"mode": mode}
    report = bob.import_contacts(
        io.StringIO(text),
        batch=1,
        on_duplicate="fill_empty",
        **options,  # type: ignore[arg-type]
    )
    assert (report.rows, report.created, report.updated) == (4, 2, 2)
    if mode != "dry_run":
        amy = bob.search(email="amy@example.com").rows[0].contact
        assert [p.number for p in amy.phones] == ["+16175550101"]
        assert len(bob.search(email="hidden@example.com").rows) == 1  # his own, new one


def test_cli_imports_a_headerless_file_with_positional_maps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from teamcrm.cli import main

    db = tmp_path / "t.db"
    with teamcrm.open(f"sqlite:///{db}") as crm:
        crm.create_team("Acme", admin_name="Ana")
    source = tmp_path / "plain.csv"
    source.write_text("Kim Park,kim@example.com\nOla Nowak,ola@example.com\n", encoding="utf-8")
    base = ["import", "contacts", str(source), "--db", str(db), "--as", "Ana"]
    assert main(base) != 0
    assert "looks like data" in capsys.readouterr().err
    assert main([*base, "--map", "0=name", "--map", "1=email"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("imported 2 rows: 2 created")
    assert main([*base, "--map", "nonsense"]) != 0
    assert "COLUMN=TARGET" in capsys.readouterr().err
