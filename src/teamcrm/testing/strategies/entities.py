"""Teams, members, contacts, companies, buckets, memberships, interactions, events."""

from __future__ import annotations

import unicodedata
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.bucket import (
    AccessGrant,
    AccessLevel,
    Bucket,
    BucketKind,
    BucketMembership,
    TeamAccess,
)
from teamcrm.contact import Company, Contact
from teamcrm.events import DomainEvent, EventName
from teamcrm.interaction import Interaction, InteractionKind, Outcome
from teamcrm.team import BucketManagement, Member, Role, Team, TeamSettings
from teamcrm.testing.strategies.fields import (
    _unique_channels,
    custom_field_values,
    custom_fields,
    email_addresses,
    emails,
    phone_numbers,
    phones,
)
from teamcrm.testing.strategies.identifiers import (
    _as_strategy,
    _company_ids,
    _contact_ids,
    bucket_ids,
    company_ids,
    contact_ids,
    interaction_ids,
    member_ids,
    team_ids,
)
from teamcrm.testing.strategies.text_and_time import aware_datetimes, time_zones, unicode_text
from teamcrm.validation import (
    MAX_NAME,
)

# ----------------------------------------------------------------- entities


def team_settings() -> SearchStrategy[TeamSettings]:
    """Valid :class:`TeamSettings`, including custom status lists."""

    @st.composite
    def build(draw: st.DrawFn) -> TeamSettings:
        statuses = draw(
            st.lists(unicode_text(max_size=20), min_size=1, max_size=6, unique_by=str.strip)
        )
        normal = tuple(dict.fromkeys(unicodedata.normalize("NFC", s.strip()) for s in statuses))
        return TeamSettings(
            bucket_management=draw(st.sampled_from(BucketManagement)),
            file_notes_under_companies=draw(st.booleans()),
            statuses=normal,
            new_contact_status=draw(st.sampled_from(normal)),
            new_lead_status=draw(st.sampled_from(normal)),
        )

    return st.one_of(st.just(TeamSettings()), build())


def teams(*, team_id: Any = None) -> SearchStrategy[Team]:
    """:class:`Team` values at version 1."""
    return st.builds(
        Team,
        id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        created_at=aware_datetimes(),
        settings=team_settings(),
    )


def members(*, team_id: Any = None, role: Any = None, active: Any = None) -> SearchStrategy[Member]:
    """:class:`Member` values of a team, in any role and time zone, active or not."""
    return st.builds(
        Member,
        id=member_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        role=_as_strategy(role, st.sampled_from(Role)),
        created_at=aware_datetimes(),
        email=st.none() | emails(),
        active=_as_strategy(active, st.booleans()),
        away_until=st.none() | aware_datetimes(),
        time_zone=time_zones(),
    )


def contacts(
    *, team_id: Any = None, created_by: Any = None, company_ids: Any = None, status: Any = None
) -> SearchStrategy[Contact]:
    """:class:`Contact` values with unicode names, channels and (large) custom fields.

    *company_ids* is a tuple of company ids (or a strategy of tuples);
    *created_by* a member id or ``None``.
    """

    @st.composite
    def build(draw: st.DrawFn) -> Contact:
        name = unicode_text(max_size=MAX_NAME)
        first = draw(st.just("") | name)
        last = draw(name if not first.strip() else st.just("") | name)
        opted_out = draw(st.booleans())
        return Contact(
            id=draw(contact_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            created_at=draw(aware_datetimes()),
            status=draw(_as_strategy(status, unicode_text(max_size=64))),
            first_name=first,
            last_name=last,
            emails=_unique_channels(draw(st.lists(email_addresses(), max_size=3))),
            phones=_unique_channels(draw(st.lists(phone_numbers(), max_size=3))),
            company_ids=draw(
                _as_strategy(company_ids, st.lists(_company_ids(), max_size=3).map(tuple))
            ),
            source=draw(st.none() | unicode_text(max_size=64)),
            custom_fields=draw(custom_fields()),
            created_by=draw(_as_strategy(created_by, st.none() | member_ids())),
            email_opt_out=opted_out,
            opted_out_at=draw(st.none() | aware_datetimes()) if opted_out else None,
        )

    return build()


def companies(*, team_id: Any = None, created_by: Any = None) -> SearchStrategy[Company]:
    """:class:`Company` values."""
    return st.builds(
        Company,
        id=company_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        created_at=aware_datetimes(),
        domain=st.none() | unicode_text(max_size=60),
        created_by=_as_strategy(created_by, st.none() | member_ids()),
    )


def access_grants(*, member_id: Any = None) -> SearchStrategy[AccessGrant]:
    """:class:`AccessGrant` values (viewer or editor, with or without conversations)."""
    return st.builds(
        AccessGrant,
        member_id=_as_strategy(member_id, member_ids()),
        level=st.sampled_from(AccessLevel),
        can_view_conversations=st.booleans(),
    )


def team_buckets(
    *, team_id: Any = None, grantees: Any = None, created_by: Any = None
) -> SearchStrategy[Bucket]:
    """Team :class:`Bucket` values; *grantees* is a list of member ids (or a strategy).

    Each grantee gets one grant of a random level; some buckets are shared
    with the whole team (:class:`~teamcrm.bucket.TeamAccess`) and some hold
    every contact.
    """

    @st.composite
    def build(draw: st.DrawFn) -> Bucket:
        who = draw(_as_strategy(grantees, st.lists(member_ids(), max_size=4, unique=True)))
        grants = tuple(draw(access_grants(member_id=m)) for m in dict.fromkeys(who))
        return Bucket(
            id=draw(bucket_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            name=draw(unicode_text(max_size=MAX_NAME)),
            kind=BucketKind.TEAM,
            created_at=draw(aware_datetimes()),
            grants=grants,
            created_by=draw(_as_strategy(created_by, st.none() | member_ids())),
            team_access=draw(st.none() | st.builds(TeamAccess, level=st.sampled_from(AccessLevel))),
            holds_all=draw(st.booleans()),
        )

    return build()


def personal_buckets(*, team_id: Any = None, owner_id: Any = None) -> SearchStrategy[Bucket]:
    """Personal :class:`Bucket` values owned by *owner_id*."""

    @st.composite
    def build(draw: st.DrawFn) -> Bucket:
        owner = draw(_as_strategy(owner_id, member_ids()))
        return Bucket(
            id=draw(bucket_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            name=draw(unicode_text(max_size=MAX_NAME)),
            kind=BucketKind.PERSONAL,
            owner_id=owner,
            created_at=draw(aware_datetimes()),
            created_by=owner,
        )

    return build()


def buckets(
    *, team_id: Any = None, owner_id: Any = None, grantees: Any = None
) -> SearchStrategy[Bucket]:
    """Team or personal buckets (see :func:`team_buckets` and :func:`personal_buckets`)."""
    return st.one_of(
        team_buckets(team_id=team_id, grantees=grantees),
        personal_buckets(team_id=team_id, owner_id=owner_id),
    )


def memberships(
    *, team_id: Any = None, bucket_id: Any = None, item_id: Any = None, added_by: Any = None
) -> SearchStrategy[BucketMembership]:
    """:class:`BucketMembership` values (a contact or company in a bucket)."""
    return st.builds(
        BucketMembership,
        team_id=_as_strategy(team_id, team_ids()),
        bucket_id=_as_strategy(bucket_id, bucket_ids()),
        item_id=_as_strategy(item_id, contact_ids() | company_ids()),
        added_at=aware_datetimes(),
        added_by=_as_strategy(added_by, st.none() | member_ids()),
    )


def interactions(
    *,
    team_id: Any = None,
    author_id: Any = None,
    contact_ids: Any = None,
    company_ids: Any = None,
) -> SearchStrategy[Interaction]:
    """:class:`Interaction` values; at least one contact or company id is always present.

    *contact_ids* / *company_ids* are tuples of ids (or strategies of tuples).
    """

    @st.composite
    def build(draw: st.DrawFn) -> Interaction:
        cts = draw(_as_strategy(contact_ids, st.lists(_contact_ids(), max_size=3).map(tuple)))
        cos = draw(_as_strategy(company_ids, st.lists(_company_ids(), max_size=2).map(tuple)))
        if not cts and not cos:
            cts = (draw(_contact_ids()),)
        occurred = draw(aware_datetimes())
        return Interaction(
            id=draw(interaction_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            kind=draw(st.sampled_from(InteractionKind)),
            author_id=draw(_as_strategy(author_id, member_ids())),
            occurred_at=occurred,
            logged_at=draw(aware_datetimes()),
            contact_ids=cts,
            company_ids=cos,
            outcome=draw(st.none() | st.sampled_from(Outcome)),
            via=draw(st.none() | phones() | emails()),
            reference=draw(st.none() | unicode_text(max_size=200)),
            body=draw(
                st.one_of(
                    st.just(""),
                    st.text(
                        st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\n\t"),
                        max_size=300,
                    ),
                    st.builds(lambda n: "line\n" * n, st.integers(100, 2000)),
                )
            ),
        )

    return build()


def _event_data() -> SearchStrategy[dict[str, Any]]:
    value = st.one_of(
        custom_field_values(large=False),
        st.lists(st.one_of(contact_ids(), unicode_text(max_size=20)), max_size=4),
    )
    return st.dictionaries(st.from_regex(r"\A[a-z_]{1,16}\Z"), value, max_size=5)


def domain_events(*, team_id: Any = None, actor_id: Any = None) -> SearchStrategy[DomainEvent]:
    """:class:`DomainEvent` values with JSON-ready data (scalars and lists of strings)."""
    return st.builds(
        DomainEvent,
        name=st.sampled_from(EventName),
        team_id=_as_strategy(team_id, team_ids()),
        subject_id=contact_ids() | bucket_ids() | member_ids(),
        occurred_at=aware_datetimes(),
        actor_id=_as_strategy(actor_id, st.none() | member_ids()),
        data=_event_data(),
    )
