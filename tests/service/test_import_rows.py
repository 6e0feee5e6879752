"""The import's row checks, each cell checked once, give what checking everything twice gave.

``RowChecker`` (``teamcrm/service/import_rows.py``) checks each cell once and
builds the contact from the checked values without the constructor's checks.
The reference here is the code it replaced: every email an ``EmailAddress``,
every phone ``PhoneNumber.parse``, custom fields through
``check_custom_fields``, the contact built by ``Contact`` itself.  On random
rows (good and bad cells, several values a cell, long and odd text) both must
give equal rows, equal contacts (phone displays included) and the same errors.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

import teamcrm
from teamcrm.contact import Contact, EmailAddress, PhoneNumber
from teamcrm.errors import ValidationError
from teamcrm.events import DomainEvent, EventName
from teamcrm.ids import CompanyId, new_company_id
from teamcrm.importing import Column, ImportReport, RowError, split_cell
from teamcrm.service.import_rows import Row, RowChecker, find_bucket
from teamcrm.validation import FrozenDict, check_custom_fields

COLUMNS = [
    Column(0, "first", "first_name"),
    Column(1, "last", "last_name"),
    Column(2, "full", "name"),
    Column(3, "email", "email"),
    Column(4, "work email", "email", "work"),
    Column(5, "phone", "phone"),
    Column(6, "mobile", "phone", "mobile"),
    Column(7, "company", "company"),
    Column(8, "status", "status"),
    Column(9, "source", "source"),
    Column(10, "bucket", "bucket"),
    Column(11, "note", "custom:note"),
    Column(12, "region", "custom:wojewo\u0301dztwo"),  # not NFC: stored under its NFC name
    Column(13, "odd label", "phone", " Odd\tlabel "),  # a label the fast path leaves alone
]


@functools.cache
def _checker(region: str | None) -> RowChecker:
    crm = teamcrm.open("memory://")
    team, admin = crm.create_team("Acme", admin_name="Ana")
    ana = crm.as_member(admin.id)
    ana.create_bucket("Web")
    ana.create_bucket("web")  # two buckets named alike: a cell naming them is an error
    ana.create_bucket("Fairs")
    with crm.store.unit_of_work(write=False) as uow:
        return RowChecker(
            team=uow.teams.get(team.id),
            buckets=list(uow.buckets.all(team.id)),
            actor=uow.members.get(team.id, admin.id),
            region=region,
            now=crm.now(),
            member_id=admin.id,
        )


# ----------------------------------------------------------- the reference
def _reference_put(checker: RowChecker, row: Row, col: Column, text: str) -> None:
    """The cell checks as they were before ``RowChecker`` (each value built and checked)."""
    target = col.target
    if target == "first_name":
        row.first_name = text
    elif target == "last_name":
        row.last_name = text
    elif target == "name":
        first, _, last = text.partition(" ")
        row.first_name, row.last_name = first, last.strip()
    elif target == "email":
        for value in split_cell(text):
            email = EmailAddress(address=value, label=col.label)
            if all(e.address.lower() != email.address.lower() for e in row.emails):
                row.emails.append(email)
    elif target == "phone":
        for value in split_cell(text):
            phone = PhoneNumber.parse(value, checker.region, label=col.label)
            if all(p.number != phone.number for p in row.phones):
                row.phones.append(phone)
    elif target == "company":
        row.companies += [(col.name, name) for name in split_cell(text)]
    elif target == "status":
        statuses = checker.team.settings.statuses
        if text not in statuses:
            raise ValidationError(col.name, text, f"must be one of {statuses!r}")
        row.status = text
    elif target == "source":
        row.source = text
    elif target == "bucket":
        for name in split_cell(text):
            found = find_bucket(checker.buckets, name, checker.actor)
            if found not in row.buckets:
                row.buckets.append(found)
    else:
        name = target.removeprefix("custom:")
        row.custom.update(check_custom_fields(col.name, {name: text}))


def _reference_check(
    checker: RowChecker, number: int, cells: list[str], report: ImportReport
) -> Row | None:
    row = Row(number=number)
    bad: list[RowError] = []
    for col in COLUMNS:
        text = cells[col.index].strip() if col.index < len(cells) else ""
        if not text:
            continue
        try:
            _reference_put(checker, row, col, text)
        except ValidationError as exc:
            bad.append(RowError(row=number, column=col.name, value=text, reason=exc.reason))
    if not bad and not row.first_name and not row.last_name:
        if row.emails:
            row.first_name = row.emails[0].address.split("@")[0]
        elif row.phones:
            row.first_name = row.phones[0].number
        else:
            bad.append(
                RowError(row=number, column=None, value="", reason="no name, email or phone")
            )
    if bad:
        report.errors.extend(bad)
        return None
    try:
        row.draft = checker.checked_contact(row, [])
    except ValidationError as exc:
        report.errors.append(
            RowError(row=number, column=None, value=str(exc.value)[:80], reason=str(exc))
        )
        return None
    return row


def _contact_fields(contact: Contact) -> dict[str, Any]:
    """Everything of *contact* but its id, phone displays included (they are not compared)."""
    fields = attrs.asdict(contact, recurse=False)
    del fields["id"]
    fields["displays"] = [p.display for p in contact.phones]
    fields["custom_type"] = type(contact.custom_fields)
    return fields


def _row_fields(row: Row) -> dict[str, Any]:
    fields = attrs.asdict(row, recurse=False)
    draft = fields.pop("draft")
    fields["draft"] = None if draft is None else _contact_fields(draft)
    fields["displays"] = [p.display for p in row.phones]
    return fields


# --------------------------------------------------------------- the cells
_odd = st.text(st.sampled_from("aZé\u0301\u00a0 \t\n\x00\x1f.-@+();#:x0159"), max_size=12)
_emails = st.one_of(
    st.emails(),
    st.builds(lambda s: s.upper(), st.emails()),
    st.sampled_from(["a..b@example.com", "a@example..com", "a@example.com.", "a@b", "@x.com"]),
    st.builds(lambda a: f"{a}@example.com", _odd),
)
_phones = st.one_of(
    st.sampled_from(
        [
            "(617) 555-0101",
            "+1 617 555 0101",
            "617.555.0101 ext. 12",
            "+44 20 7946 0958",
            "020 7946 0958",
            "555-0101",
            "+1 617 555 0101\tx12",
            "+1\u2003617 555 0101",
            "+999 1234",
            "1 617 555 0101",
            "+16175550101;ext=7",
            "0123456789",
        ]
    ),
    st.from_regex(r"\+?[0-9 ()\-./]{0,18}( ?(ext\.?|x|#) ?[0-9]{1,3})?", fullmatch=True),
    _odd,
)
_names = st.one_of(
    st.text(max_size=8),
    _odd,
    st.text(st.sampled_from("ab \u0958"), min_size=195, max_size=205),
)


def _cell(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    many = st.lists(values, min_size=1, max_size=3)
    joined = st.builds(lambda vs, sep: sep.join(vs), many, st.sampled_from([" ::: ", "; ", ";"]))
    return st.one_of(st.just(""), values, joined)


_rows = st.tuples(
    _cell(_names),
    _cell(_names),
    _cell(_names),
    _cell(_emails),
    st.one_of(
        _cell(_emails),
        st.integers(45, 55).map(lambda n: " ::: ".join(f"p{i}@example.com" for i in range(n))),
    ),
    _cell(_phones),
    _cell(_phones),
    _cell(st.sampled_from(["Acme", "acme", "", "Initech"])),
    st.sampled_from(["", "evaluate", "qualified", "nonsense", " evaluate "]),
    st.one_of(_names, st.text(st.sampled_from("ab"), min_size=60, max_size=70)),
    _cell(st.sampled_from(["Web", "Fairs", "fairs", "nope", ""])),
    st.one_of(
        _odd,
        st.text(max_size=20),
        st.integers(9_995, 10_005).map(lambda n: "a\n" * (n // 2) + "b" * (n % 2)),
    ),
    _odd,
    _cell(_phones),
).map(list)


@given(cells=st.one_of(_rows, _rows.map(lambda cs: cs[:5])), region=st.sampled_from(["US", None]))
def test_checking_each_cell_once_gives_what_checking_twice_gave(
    cells: list[str], region: str | None
) -> None:
    checker = _checker(region)
    fast_report, slow_report = ImportReport(), ImportReport()
    fast = checker.check(7, cells, COLUMNS, fast_report)
    slow = _reference_check(checker, 7, cells, slow_report)
    assert fast_report.errors == slow_report.errors
    assert (fast is None) == (slow is None)
    if fast is not None and slow is not None:
        assert _row_fields(fast) == _row_fields(slow)


# ------------------------------------------------------------ the contact
def _email_list(n: int) -> list[EmailAddress]:
    return [EmailAddress(address=f"p{i}@example.com") for i in range(n)]


@given(
    first=_names,
    last=_names,
    status=st.sampled_from([None, "evaluate", "qualified"]),
    source=st.one_of(st.none(), _names, st.text(st.sampled_from("ab"), min_size=60, max_size=70)),
    emails=st.integers(0, 53),
    phones=st.integers(0, 53),
    companies=st.integers(0, 103),
    custom=st.integers(0, 203),
)
def test_the_contact_and_event_built_without_checks_are_the_checked_ones(
    first: str,
    last: str,
    status: str | None,
    source: str | None,
    emails: int,
    phones: int,
    companies: int,
    custom: int,
) -> None:
    checker = _checker("US")
    row = Row(
        number=2,
        first_name=first,
        last_name=last,
        emails=_email_list(emails),
        phones=[PhoneNumber(number=f"+1617555{1000 + i}") for i in range(phones)],
        status=status,
        source=source,
        custom={f"f{i}": f"v{i}" for i in range(custom)},
    )
    ids: list[CompanyId] = [new_company_id() for _ in range(companies)]
    fast = _built(lambda: checker.contact(row, ids))
    slow = _built(lambda: checker.checked_contact(row, ids))
    assert type(fast) is type(slow)
    if isinstance(fast, Contact) and isinstance(slow, Contact):
        assert _contact_fields(fast) == _contact_fields(slow)
        assert isinstance(fast.custom_fields, FrozenDict)
        # and its event, built without checks, is the one the session's _event builds
        event = checker.created_event(fast)
        checked = DomainEvent(
            name=EventName.CONTACT_CREATED,
            team_id=checker.team_id,
            subject_id=fast.id,
            occurred_at=checker.now,
            actor_id=checker.member_id,
            data={"source": fast.source, "status": fast.status},
        )
        assert event == checked
        assert type(event.data) is type(checked.data)
    else:
        assert fast == slow  # the same error message


def _built(build: Any) -> Contact | str:
    try:
        contact: Contact = build()
    except ValidationError as exc:
        return str(exc)
    return contact


# ------------------------------------------------------ one value at a time
def _outcome(build: Any) -> tuple[Any, ...]:
    try:
        value = build()
    except ValidationError as exc:
        return ("error", exc.reason)
    if isinstance(value, PhoneNumber):
        return ("phone", value.number, value.display, value.label, value.validated)
    return ("email", value.address, value.label, value.validated, value.bounced)


_PHONE_EDGES = [
    "+1 617 555 0101\tx12",  # a tab: phone_parts takes it, the display's check does not
    "617 555 0101\nx12",
    "+1\u2003617 555 0101",
    "+16175550101",
    "(617) 555-0101",
    "+44 20 7946 0958",
    "",
    "x" * 41,
]


@given(
    value=st.one_of(_phones, st.sampled_from(_PHONE_EDGES)), region=st.sampled_from(["US", None])
)
def test_a_phone_parsed_once_is_the_phone_parsed_twice(value: str, region: str | None) -> None:
    checker = _checker(region)
    for label in (None, "mobile", " Odd\tlabel "):
        fast = _outcome(lambda: checker.phone(value, label))  # noqa: B023
        slow = _outcome(lambda: PhoneNumber.parse(value, region, label=label))  # noqa: B023
        assert fast == slow


@given(value=st.one_of(_emails, _odd))
def test_an_email_checked_once_is_the_email_checked_twice(value: str) -> None:
    checker = _checker("US")
    for label in (None, "work", " Odd\tlabel ", "w" * 65):
        fast = _outcome(lambda: checker.email(value, label))  # noqa: B023
        slow = _outcome(lambda: EmailAddress(address=value, label=label))  # noqa: B023
        assert fast == slow
