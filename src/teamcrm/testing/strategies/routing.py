"""Lead pools, leads, offers, explanations, cursors and inbound buckets."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from teamcrm.ids import PREFIXES
from teamcrm.lead import (
    MAX_LEAD_NOTE,
    InboundBucket,
    Lead,
    LeadId,
    LeadStatus,
    Offer,
    OfferId,
    OfferStatus,
    RoutingCursor,
)
from teamcrm.pool import (
    DEFAULT_OFFER_WINDOW,
    MAX_OFFER_WINDOW,
    DistributionMethod,
    LeadPool,
    PoolId,
)
from teamcrm.routing import RoutingExplanation, RoutingOutcome, Skipped, SkipReason
from teamcrm.testing.strategies.fields import emails, phones
from teamcrm.testing.strategies.followups import cadences
from teamcrm.testing.strategies.identifiers import (
    _as_strategy,
    _ids,
    _member_ids,
    bucket_ids,
    contact_ids,
    member_ids,
    team_ids,
)
from teamcrm.testing.strategies.notifications import _multiline
from teamcrm.testing.strategies.text_and_time import aware_datetimes, unicode_text
from teamcrm.validation import (
    MAX_NAME,
    normalise_email,
    normalise_phone,
)

# ------------------------------------------------------------------- routing


def pool_ids() -> SearchStrategy[PoolId]:
    """Well-formed lead pool ids (``lp_…``)."""
    return _ids(PREFIXES["pool"]).map(PoolId)


def lead_ids() -> SearchStrategy[LeadId]:
    """Well-formed lead ids (``ld_…``)."""
    return _ids(PREFIXES["lead"]).map(LeadId)


def offer_ids() -> SearchStrategy[OfferId]:
    """Well-formed offer ids (``of_…``)."""
    return _ids(PREFIXES["offer"]).map(OfferId)


def offer_windows() -> SearchStrategy[timedelta]:
    """Offer windows: from one microsecond to :data:`~teamcrm.pool.MAX_OFFER_WINDOW`."""
    return st.one_of(
        st.sampled_from([timedelta(microseconds=1), DEFAULT_OFFER_WINDOW, MAX_OFFER_WINDOW]),
        st.timedeltas(min_value=timedelta(microseconds=1), max_value=MAX_OFFER_WINDOW),
    )


def lead_pools(
    *,
    team_id: Any = None,
    source_bucket_ids: Any = None,
    member_ids: Any = None,
    fallback_member_id: Any = None,
    created_by: Any = None,
) -> SearchStrategy[LeadPool]:
    """:class:`LeadPool` values at version 1, of every method, with or without a follow-up.

    *source_bucket_ids* / *member_ids* are tuples of ids (or strategies of them);
    by default random ids (at least one source bucket).
    """
    return st.builds(
        LeadPool,
        id=pool_ids(),
        team_id=_as_strategy(team_id, team_ids()),
        name=unicode_text(max_size=MAX_NAME),
        created_at=aware_datetimes(),
        source_bucket_ids=_as_strategy(
            source_bucket_ids, st.lists(bucket_ids(), min_size=1, max_size=3).map(tuple)
        ),
        member_ids=_as_strategy(member_ids, st.lists(_member_ids(), max_size=5).map(tuple)),
        method=st.sampled_from(DistributionMethod),
        active=st.booleans(),
        offer_window=offer_windows(),
        follow_up=st.none() | cadences(),
        fallback_member_id=_as_strategy(fallback_member_id, st.none() | _member_ids()),
        created_by=_as_strategy(created_by, st.none() | _member_ids()),
    )


def routing_explanations(
    *, pool_id: Any = None, member_ids: Any = None
) -> SearchStrategy[RoutingExplanation]:
    """:class:`RoutingExplanation` values; *member_ids* is a strategy of candidate ids.

    Skipped candidates may be any text (a candidate that is not a member at all).
    """
    who = _as_strategy(member_ids, _member_ids())
    many = st.lists(who, max_size=4, unique=True).map(tuple)
    return st.builds(
        RoutingExplanation,
        method=st.one_of(
            st.sampled_from([m.value for m in DistributionMethod]),
            unicode_text(max_size=64),
        ),
        outcome=st.sampled_from(RoutingOutcome),
        decided_at=aware_datetimes(),
        pool_id=_as_strategy(pool_id, st.none() | pool_ids()),
        actor_id=st.none() | who,
        eligible=many,
        skipped=st.lists(
            st.builds(
                Skipped,
                member_id=st.one_of(who, unicode_text(max_size=64)),
                reason=st.sampled_from(SkipReason),
            ),
            max_size=4,
        ).map(tuple),
        cursor_before=st.none() | st.integers(0, 2**62),
        cursor_after=st.none() | st.integers(0, 2**62),
        chosen=many,
        offered=many,
        offer_expires_at=st.none() | aware_datetimes(),
        note=st.none() | unicode_text(max_size=300),
    )


def leads(
    *,
    team_id: Any = None,
    contact_id: Any = None,
    pool_id: Any = None,
    member_ids: Any = None,
    status: Any = None,
) -> SearchStrategy[Lead]:
    """:class:`Lead` values at version 1 in any status, with keys and an explanation.

    *member_ids* is a strategy of member ids for assignees and decliners;
    *pool_id* may be ``None`` (a lead assigned outside any pool) or a strategy.
    """
    who = _as_strategy(member_ids, _member_ids())

    @st.composite
    def build(draw: st.DrawFn) -> Lead:
        state = draw(_as_strategy(status, st.sampled_from(LeadStatus)))
        assigned = state is LeadStatus.ASSIGNED
        pool = draw(_as_strategy(pool_id, st.none() | pool_ids()))
        return Lead(
            id=draw(lead_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            contact_id=draw(_as_strategy(contact_id, contact_ids())),
            created_at=draw(aware_datetimes()),
            pool_id=pool,
            status=state,
            assignee_ids=tuple(draw(st.lists(who, min_size=1, max_size=3, unique=True)))
            if assigned
            else (),
            assigned_at=draw(aware_datetimes()) if assigned else None,
            entry=draw(st.one_of(st.integers(1, 5), st.integers(1, 2**62))),
            keys=tuple(
                draw(
                    st.lists(
                        st.one_of(
                            emails().map(normalise_email),
                            phones().map(normalise_phone),
                            unicode_text(max_size=320),
                        ),
                        max_size=4,
                    )
                )
            ),
            declined_by=tuple(draw(st.lists(who, max_size=3, unique=True))),
            explanation=draw(
                st.none() | routing_explanations(pool_id=st.just(pool), member_ids=who)
            ),
        )

    return build()


def offers(
    *, team_id: Any = None, lead_id: Any = None, member_id: Any = None, offered_by: Any = None
) -> SearchStrategy[Offer]:
    """:class:`Offer` values at version 1, open or settled, expiring after they were made."""

    @st.composite
    def build(draw: st.DrawFn) -> Offer:
        created = draw(aware_datetimes())
        state = draw(st.sampled_from(OfferStatus))
        return Offer(
            id=draw(offer_ids()),
            team_id=draw(_as_strategy(team_id, team_ids())),
            lead_id=draw(_as_strategy(lead_id, lead_ids())),
            member_id=draw(_as_strategy(member_id, member_ids())),
            created_at=created,
            expires_at=created + draw(offer_windows()),
            status=state,
            settled_at=None if state is OfferStatus.OPEN else draw(aware_datetimes()),
            offered_by=draw(_as_strategy(offered_by, st.none() | member_ids())),
            note=draw(
                st.one_of(
                    st.none(),
                    _multiline(200),
                    st.builds(lambda n: "\u05e9\n" * n, st.integers(1, MAX_LEAD_NOTE // 2)),
                )
            ),
        )

    return build()


def routing_cursors(*, team_id: Any = None, pool_id: Any = None) -> SearchStrategy[RoutingCursor]:
    """:class:`RoutingCursor` values (any position and version up to 2**62)."""
    return st.builds(
        RoutingCursor,
        team_id=_as_strategy(team_id, team_ids()),
        pool_id=_as_strategy(pool_id, pool_ids()),
        position=st.one_of(st.integers(0, 10), st.integers(0, 2**62)),
        version=st.one_of(st.integers(0, 10), st.integers(0, 2**62)),
    )


def inbound_buckets(
    *, team_id: Any = None, member_id: Any = None, bucket_id: Any = None
) -> SearchStrategy[InboundBucket]:
    """:class:`InboundBucket` values."""
    return st.builds(
        InboundBucket,
        team_id=_as_strategy(team_id, team_ids()),
        member_id=_as_strategy(member_id, member_ids()),
        bucket_id=_as_strategy(bucket_id, bucket_ids()),
    )
