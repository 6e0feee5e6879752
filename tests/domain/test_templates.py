"""Email templates: checked when parsed, rendered with every value escaped."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm import (
    Company,
    Contact,
    EmailAddress,
    Member,
    RenderedEmail,
    Role,
    Team,
    Template,
    TemplateError,
    ValidationError,
    preferred_email,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
TM, MB, CT, CO = (p + "0" * 26 for p in ("tm_", "mb_", "ct_", "co_"))
TEAM = Team(id=TM, name="Acme & Sons", created_at=NOW)
ANA = Member(
    id=MB,
    team_id=TM,
    name="Ana <Lopez>",
    role=Role.AGENT,
    created_at=NOW,
    email="ana@acme.example",
)


def contact(**kw: object) -> Contact:
    args: dict[str, object] = {
        "id": CT,
        "team_id": TM,
        "created_at": NOW,
        "status": "new",
        "first_name": "Bea",
        "last_name": "Jones",
        "emails": ("bea@example.com",),
    }
    args.update(kw)
    return Contact(**args)  # type: ignore[arg-type]


def test_every_field_renders() -> None:
    t = Template.parse(
        "{{ team.name }}: hi {{ contact.first_name }}",
        "{{ contact.full_name }}|{{ contact.last_name }}|{{ contact.email }}|"
        "{{ contact.company }}|{{ contact.custom.region }}|{{ member.name }}|{{ member.email }}",
    )
    c = contact(custom_fields={"region": "North"})
    out = t.render(
        contact=c,
        member=ANA,
        team=TEAM,
        company=Company(id=CO, team_id=TM, name="Initech", created_at=NOW),
    )
    assert out.subject == "Acme & Sons: hi Bea"
    assert out.text == (
        "Bea Jones|Jones|bea@example.com|Initech|North|Ana <Lopez>|ana@acme.example"
    )
    assert "Ana &lt;Lopez&gt;" in out.html
    assert "Ana <Lopez>" not in out.html
    assert t.fields == frozenset(
        {
            "team.name",
            "contact.first_name",
            "contact.full_name",
            "contact.last_name",
            "contact.email",
            "contact.company",
            "contact.custom.region",
            "member.name",
            "member.email",
        }
    )


def test_missing_values_take_the_default_or_nothing() -> None:
    t = Template.parse(
        'Hi {{ contact.first_name | default: "there" }}',
        "{{contact.custom.pet|default:'no pet'}}/{{ contact.company }}/{{ team.name }}/"
        '{{ contact.custom.x | default: "say \\"hi\\" \\\\ bye" }}',
    )
    out = t.render(contact=contact(first_name="", last_name="Jones"), member=ANA)
    assert out.subject == "Hi there"
    assert out.text == 'no pet///say "hi" \\ bye'
    kept = t.render(contact=contact(custom_fields={"pet": "cat"}), member=ANA)
    assert kept.subject == "Hi Bea"
    assert kept.text.startswith("cat//")


def test_custom_field_names_in_any_script_and_their_scalars() -> None:
    t = Template.parse(
        "s",
        "{{ contact.custom.Ταχ. κώδικας }} {{ contact.custom.都道府県 }} "
        "{{ contact.custom.vip }} {{ contact.custom.n }}",
    )
    c = contact(custom_fields={"Ταχ. κώδικας": "105 57", "都道府県": "東京", "vip": True, "n": 3})
    assert t.render(contact=c, member=ANA).text == "105 57 東京 yes 3"
    assert "contact.custom.Ταχ. κώδικας" in t.fields


@pytest.mark.parametrize(
    ("subject", "body", "field", "placeholder", "line", "column", "words"),
    [
        ("s", "Hi\n  {{ contact.age }}", "Template.body", "{{ contact.age }}", 2, 3, "unknown"),
        ("{{ member.phone }}", "b", "Template.subject", "{{ member.phone }}", 1, 1, "unknown"),
        ("s", "x {{ contact.first_name", "Template.body", "{{ contact.first_name", 1, 3, "closed"),
        (
            "s",
            "{{ a {{ contact.email }}",
            "Template.body",
            "{{ a {{ contact.email }}",
            1,
            1,
            "closed",
        ),
        ("s", "{{ }}", "Template.body", "{{ }}", 1, 1, "no field"),
        (
            "s",
            "{{ contact.first_name | upper }}",
            "Template.body",
            "{{ contact.first_name | upper }}",
            1,
            1,
            "default",
        ),
        (
            "s",
            '{{ contact.first_name | default: "x }}',
            "Template.body",
            '{{ contact.first_name | default: "x }}',
            1,
            1,
            "default",
        ),
        (
            "s",
            "{{ contact.custom.9lives }}",
            "Template.body",
            "{{ contact.custom.9lives }}",
            1,
            1,
            "custom field",
        ),
        (
            "s",
            "{{ contact.custom. }}",
            "Template.body",
            "{{ contact.custom. }}",
            1,
            1,
            "custom field",
        ),
        ("s", "{{ contact.custom }}", "Template.body", "{{ contact.custom }}", 1, 1, "unknown"),
    ],
)
def test_bad_templates_are_refused_at_parse_time_with_where_and_what(
    subject: str, body: str, field: str, placeholder: str, line: int, column: int, words: str
) -> None:
    with pytest.raises(TemplateError) as info:
        Template.parse(subject, body)
    err = info.value
    assert isinstance(err, ValidationError)
    assert err.field == field
    assert err.placeholder.startswith(placeholder[:40])
    assert (err.line, err.column) == (line, column)
    assert words in err.reason
    assert f"line {line}, column {column}" in str(err)


@pytest.mark.parametrize(
    ("subject", "body"),
    [("", "b"), ("  ", "b"), ("s", ""), ("two\nlines", "b"), (None, "b"), ("s", 3)],
)
def test_empty_multi_line_or_non_text_sources_are_refused(subject: object, body: object) -> None:
    with pytest.raises(ValidationError):
        Template.parse(subject, body)  # type: ignore[arg-type]


def test_round_trip_through_dict_and_json() -> None:
    t = Template.parse("Hi {{ contact.first_name }}", "Body {{ member.name | default: 'x' }}")
    again = Template.from_dict(json.loads(json.dumps(t.to_dict())))
    assert again == t
    assert hash(again) == hash(t)
    assert again.fields == t.fields
    assert (again.subject, again.body) == (t.subject, t.body)
    with pytest.raises(TemplateError):
        Template.from_dict({"subject": "s", "body": "{{ contact.nope }}"})
    with pytest.raises(ValidationError):
        Template.from_dict({"subject": "s", "body": "b", "extra": 1})
    with pytest.raises(ValidationError):
        Template.from_dict("s")  # type: ignore[arg-type]


def test_template_is_frozen() -> None:
    t = Template.parse("s", "b")
    with pytest.raises(AttributeError):
        t.subject = "x"  # type: ignore[misc]


def test_values_cannot_add_headers_to_the_subject() -> None:
    t = Template.parse("Re: {{ contact.custom.note }}", "b")
    c = contact(custom_fields={"note": "x\r\nBcc: all@evil.example\nmore"})
    out = t.render(contact=c, member=ANA)
    assert "\n" not in out.subject
    assert "\r" not in out.subject
    assert out.subject == "Re: x Bcc: all@evil.example more"


def test_an_empty_rendered_subject_is_replaced() -> None:
    t = Template.parse("{{ contact.custom.x }}", "b")
    assert t.render(contact=contact(), member=ANA).subject == "(no subject)"


def test_html_paragraphs_and_escaping_of_the_template_text_too() -> None:
    t = Template.parse("s", "Hi <b>{{ contact.first_name }}</b>,\n\nLine one\nline two")
    out = t.render(contact=contact(first_name='"><script>'), member=ANA)
    assert "<script>" not in out.html
    assert "&lt;b&gt;&quot;&gt;&lt;script&gt;&lt;/b&gt;" in out.html
    assert "<p>Line one<br>\nline two</p>" in out.html


def test_render_checks_its_arguments() -> None:
    t = Template.parse("s", "b")
    with pytest.raises(ValidationError, match="contact"):
        t.render(contact="bea", member=ANA)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="member"):
        t.render(contact=contact(), member="ana")  # type: ignore[arg-type]


def test_preferred_email_is_the_first_that_has_not_bounced() -> None:
    assert preferred_email(contact(emails=())) is None
    assert preferred_email(contact(emails=("a@x.example", "b@x.example"))) == "a@x.example"
    bounced = EmailAddress(address="a@x.example", bounced=True)
    both = (bounced, EmailAddress(address="b@x.example"))
    assert preferred_email(contact(emails=both)) == "b@x.example"
    assert preferred_email(contact(emails=(bounced,))) is None
    with pytest.raises(ValidationError, match="bounced"):
        EmailAddress(address="a@x.example", validated=True, bounced=True)


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"))
    | st.sampled_from(["<", ">", "&", '"', "'", "\n", "\r", "{", "}"]),
    max_size=40,
)


@given(texts, texts)
def test_any_custom_value_is_escaped_in_html_and_one_line_in_the_subject(a: str, b: str) -> None:
    t = Template.parse("{{ contact.custom.a }} {{ contact.custom.b }}", "[{{ contact.custom.a }}]")
    out = t.render(contact=contact(custom_fields={"a": a, "b": b}), member=ANA)
    assert isinstance(out, RenderedEmail)
    assert "\n" not in out.subject
    assert "\r" not in out.subject
    stored = contact(custom_fields={"a": a}).custom_fields["a"]
    assert out.text == f"[{stored}]"
    inner = out.html.split('<body style="font-family:sans-serif">\n', 1)[1]
    inner = inner.rsplit("\n</body>", 1)[0]
    for markup in ("<p>", "</p>", "<br>"):
        inner = inner.replace(markup, "")
    assert not set("<>\"'") & set(inner)
    visible = "[" + "".join(stored.split()) + "]"
    assert "".join(html.unescape(inner).split()) == visible


_NAMES = ["a", "Ünï code", "都道府県"]
_literal = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="{}")
    | st.just("\n"),
    max_size=12,
)
_slot = st.tuples(st.sampled_from(_NAMES), st.none() | st.text(alphabet="xyz \"'\\", max_size=5))


def _source(parts: list[str | tuple[str, str | None]]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
            continue
        name, default = p
        if default is None:
            out.append("{{ contact.custom." + name + " }}")
        else:
            quoted = default.replace("\\", "\\\\").replace('"', '\\"')
            out.append("{{ contact.custom." + name + ' | default: "' + quoted + '" }}')
    return "".join(out)


@given(
    st.lists(_literal | _slot, min_size=1, max_size=8),
    st.dictionaries(st.sampled_from(_NAMES), st.text(alphabet="pq<&", max_size=4)),
)
def test_any_composed_template_parses_and_renders_its_parts(
    parts: list[str | tuple[str, str | None]], values: dict[str, str]
) -> None:
    body = "x" + _source(parts)  # never empty
    t = Template.parse("s", body)
    assert t.fields == {f"contact.custom.{p[0]}" for p in parts if isinstance(p, tuple)}
    expected = "x" + "".join(
        p if isinstance(p, str) else (values.get(p[0]) or p[1] or "") for p in parts
    )
    assert t.render(contact=contact(custom_fields=values), member=ANA).text == expected
    assert Template.from_dict(t.to_dict()) == t
