"""Contract tests of the read side: search, last contacted, interaction counts, saved filters.

Part of the public contract suite (:class:`teamcrm.testing.contract.StoreContract`
includes every class here):

* :class:`SearchContract` — ``views.search`` returns exactly the contacts
  :func:`teamcrm.search.matches` accepts, among those the scope allows, in
  (``created_at``, id) order, page after page; a hypothesis test draws the
  contacts (Latin, Greek and Cyrillic names with and without accents) and
  the queries, and compares every page with the reference.
* :class:`CompanySearchContract` — ``views.search_companies`` returns exactly
  the companies :func:`teamcrm.search.company_matches` accepts.
* :class:`LastContactedContract` — ``views.last_contacted`` is the newest
  team-wide touch of each contact.
* :class:`InteractionCountsContract` — ``views.interaction_counts`` counts a
  member's interactions in a half-open range, by kind.
* :class:`SavedFilterRepositoryContract` — saved filters round-trip, are
  versioned, and ``for_member`` lists one's own and the shared ones by name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamcrm.bucket import BucketMembership
from teamcrm.contact import Company, Contact, EmailAddress, PhoneNumber
from teamcrm.errors import AlreadyExists, ConcurrencyError, NotFound
from teamcrm.followup import Touch, TouchKind
from teamcrm.ids import PREFIXES, ContactId, new_company_id, new_interaction_id
from teamcrm.interaction import Interaction, InteractionKind
from teamcrm.ports import Store, UnitOfWork
from teamcrm.search import (
    CompanyQuery,
    ContactQuery,
    DateRange,
    SavedFilter,
    SearchScope,
    company_matches,
    matches,
    new_saved_filter_id,
    tokens,
)
from teamcrm.testing.contract_base import (
    Seed,
    StoreContractBase,
    at,
    bump,
    contract_settings,
    new_bucket,
    new_contact,
    read,
    seed_team,
    write,
)

__all__ = [
    "NAMES",
    "CompanySearchContract",
    "InteractionCountsContract",
    "LastContactedContract",
    "SavedFilterRepositoryContract",
    "SearchContract",
    "call_search",
    "search_all",
]

#: Names the search tests draw from: accents, letters Unicode does not
#: decompose, Greek and Cyrillic (with their own accents), hyphens, digits.
NAMES: tuple[tuple[str, str], ...] = (
    ("Zoë", "Kowalska"),
    ("Łukasz", "Straße"),
    ("Mary-Ann", "O'Brien"),
    ("Андрей", "Иванов"),
    ("Алёна", "Йорданова"),
    ("Γιώργος", "Παπαδόπουλος"),
    ("ΆΝΝΑ", "Σοφία"),
    ("José", "Núñez"),
    ("Søren", "Æbelø"),
    ("Ann", ""),
    ("", "Annabel"),
    ("R2", "D2"),
    ("İlkay", "Gündoğan"),
    ("Ǆemal", "ǅ"),
)

_ALPHABET = "aAeEzZöÖßłŁæйЙёЁаАиИγΓιΊώΏσςΣάΆ́̈ -'0"  # noqa: RUF001

_names = st.sampled_from(NAMES) | st.tuples(
    st.text(_ALPHABET, min_size=1, max_size=8), st.text(_ALPHABET, max_size=8)
).filter(lambda n: bool((n[0] + n[1]).strip()))


def _name_queries(population: Sequence[Contact]) -> st.SearchStrategy[str]:
    """Name criteria: a run of words (the last cut short) of a drawn contact, respelt."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        from_population: bool = draw(st.booleans())
        if population and from_population:
            c = draw(st.sampled_from(population))
            words = tokens(f"{c.first_name} {c.last_name}") or ("a",)
            start = draw(st.integers(0, len(words) - 1))
            end = draw(st.integers(start + 1, len(words)))
            picked = list(words[start:end])
            picked[-1] = picked[-1][: draw(st.integers(1, len(picked[-1])))]
            spelt = " ".join(picked)
            return draw(st.sampled_from([spelt, spelt.upper(), spelt.title()]))
        first, last = draw(st.sampled_from(NAMES))
        text = draw(st.sampled_from([first, last, first[:2], last[:3], f"{first} {last[:1]}"]))
        return text if tokens(text) else "ann"

    return build()


def search_all(
    uow: UnitOfWork, seed: Seed, query: ContactQuery, scope: SearchScope | None, limit: int
) -> list[Contact]:
    """Every contact ``views.search`` finds, read page by page of *limit*."""
    out: list[Contact] = []
    after: tuple[datetime, ContactId] | None = None
    while True:
        page = uow.views.search(seed.team_id, query, scope=scope, after=after, limit=limit)
        assert len(page) <= limit
        out.extend(page)
        if len(page) < limit:
            return out
        after = (page[-1].created_at, page[-1].id)


def call_search(
    seed: Seed, query: ContactQuery, limit: int
) -> Callable[[UnitOfWork], list[Contact]]:
    """Return ``uow -> search_all(uow, seed, query, None, limit)`` (for loops)."""
    return lambda uow: search_all(uow, seed, query, None, limit)


class SearchContract(StoreContractBase):
    """``views.search`` is exactly :func:`teamcrm.search.matches`, in order, page by page."""

    @contract_settings
    @given(data=st.data())
    def test_search_returns_exactly_what_matches_accepts(
        self, store: Store, data: st.DataObject
    ) -> None:
        seed = seed_team(store)
        agent = seed.agent.id
        bucket = new_bucket(seed, 5)
        other = new_bucket(seed, 6, personal=True)
        statuses = ["evaluate", "active"]
        population: list[Contact] = []
        for i, (first, last) in enumerate(data.draw(st.lists(_names, min_size=1, max_size=8))):
            population.append(
                new_contact(
                    seed,
                    10 + data.draw(st.integers(0, 3)),  # equal created_at: ties broken by id
                    first_name=first,
                    last_name=last,
                    status=data.draw(st.sampled_from(statuses)),
                    source=data.draw(st.sampled_from([None, "web", "fair"])),
                    emails=(EmailAddress(address=f"p{i % 3}@Example.com"),) if i % 2 else (),
                    phones=(PhoneNumber(number=f"+1617555010{i % 3}"),) if i % 3 else (),
                    company_ids=(seed.company.id,) if data.draw(st.booleans()) else (),
                    custom_fields=data.draw(
                        st.sampled_from(
                            [{}, {"tier": 1}, {"tier": 1.0}, {"tier": "1"}, {"vip": True}]
                        )
                    ),
                    created_by=data.draw(st.sampled_from([agent, seed.admin.id])),
                )
            )
        held = {
            c.id: data.draw(st.sets(st.sampled_from([bucket.id, other.id]), max_size=2))
            for c in population
        }
        touched = {
            c.id: at(data.draw(st.integers(0, 3)) * 100)
            for c in population
            if data.draw(st.booleans())
        }

        def fill(uow: UnitOfWork) -> None:
            uow.buckets.add(bucket)
            uow.buckets.add(other)
            uow.contacts.add_many(population)
            uow.memberships.add_many(
                [
                    BucketMembership(team_id=seed.team_id, bucket_id=b, item_id=cid, added_at=at(7))
                    for cid, bs in held.items()
                    for b in sorted(bs)
                ]
            )
            uow.touches.record(
                [
                    Touch(team_id=seed.team_id, contact_id=cid, member_id=agent, at=when)
                    for cid, when in touched.items()
                ]
            )

        write(store, fill)
        everyone = [seed.contact, *population]
        buckets_of = {c.id: held.get(c.id, set()) for c in everyone}
        criteria: dict[str, Any] = {}
        for key, strategy in (
            ("name", _name_queries(population)),
            ("status", st.sampled_from(statuses)),
            ("source", st.sampled_from(["web", "fair"])),
            ("email", st.sampled_from(["P1@example.COM", "p2@example.com"])),
            ("phone", st.sampled_from(["+1 617 555 0101", "+16175550102"])),
            ("company_id", st.just(seed.company.id)),
            ("bucket_id", st.sampled_from([bucket.id, other.id])),
            ("custom_field", st.sampled_from(["tier", "vip"])),
            ("last_contacted", st.just(DateRange(start=at(100), end=at(300)))),
            ("created", st.just(DateRange(start=at(11)))),
        ):
            if data.draw(st.booleans()):
                criteria[key] = data.draw(strategy)
        if "custom_field" in criteria and data.draw(st.booleans()):
            criteria["custom_value"] = data.draw(st.sampled_from([1, "1", True]))
        query = ContactQuery(**criteria)
        scoped = data.draw(st.booleans())
        scope = SearchScope(member_id=agent, bucket_ids=frozenset({bucket.id})) if scoped else None
        limit = data.draw(st.integers(1, 4))
        want = sorted(
            (
                c
                for c in everyone
                if matches(
                    c, query, bucket_ids=buckets_of[c.id], last_contacted_at=touched.get(c.id)
                )
                and (scope is None or c.created_by == agent or bucket.id in buckets_of[c.id])
            ),
            key=lambda c: (c.created_at, c.id),
        )
        got = read(store, lambda uow: search_all(uow, seed, query, scope, limit))
        assert [c.id for c in got] == [c.id for c in want], query.describe()
        assert got == want

    def test_non_latin_names_are_found_like_matches_finds_them(self, store: Store) -> None:
        seed = seed_team(store)
        people = [
            new_contact(seed, 10 + i, first_name=first, last_name=last)
            for i, (first, last) in enumerate(NAMES)
        ]
        write(store, lambda uow: uow.contacts.add_many(people))
        for text in (
            "Андрей",
            "андр",
            "АЛЕНА",
            "алён",
            "Γιώργος",
            "γιωρ",
            "ΓΙΩΡΓΟΣ",
            "παπα",
            "йорд",
        ):
            query = ContactQuery(name=text)
            want = [c.id for c in people if matches(c, query)]
            assert want, text
            got = read(store, call_search(seed, query, 50))
            assert [c.id for c in got] == want, text

    def test_search_never_shows_another_teams_contacts(self, store: Store) -> None:
        mine, theirs = seed_team(store), seed_team(store, "Other")
        query = ContactQuery(name="bea")
        for seed in (mine, theirs):
            got = read(store, call_search(seed, query, 10))
            assert [c.id for c in got] == [seed.contact.id]


class CompanySearchContract(StoreContractBase):
    """``views.search_companies`` is exactly :func:`teamcrm.search.company_matches`."""

    @contract_settings
    @given(data=st.data())
    def test_company_search_returns_exactly_what_company_matches_accepts(
        self, store: Store, data: st.DataObject
    ) -> None:
        seed = seed_team(store)
        agent = seed.agent.id
        bucket = new_bucket(seed, 5)
        names = data.draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6))
        companies = [
            Company(
                id=new_company_id(),
                team_id=seed.team_id,
                name=f"{first} {last}".strip(),
                created_at=at(10 + data.draw(st.integers(0, 2))),
                domain=data.draw(st.sampled_from([None, "globex.com", "Example.COM", "ex.org"])),
                created_by=data.draw(st.sampled_from([agent, seed.admin.id])),
            )
            for first, last in names
        ]
        held = {c.id for c in companies if data.draw(st.booleans())}

        def fill(uow: UnitOfWork) -> None:
            uow.buckets.add(bucket)
            for company in companies:
                uow.companies.add(company)
            uow.memberships.add_many(
                [
                    BucketMembership(
                        team_id=seed.team_id, bucket_id=bucket.id, item_id=cid, added_at=at(7)
                    )
                    for cid in sorted(held)
                ]
            )

        write(store, fill)
        everyone = [seed.company, *companies]
        criteria: dict[str, Any] = {}
        if data.draw(st.booleans()):
            first, last = data.draw(st.sampled_from(NAMES))
            text = data.draw(st.sampled_from([first, last[:3], first[:1], "glob"]))
            criteria["name"] = text if tokens(text) else "glob"
        if data.draw(st.booleans()):
            criteria["domain"] = data.draw(st.sampled_from(["example.com", "GLOBEX.com", "x.org"]))
        query = CompanyQuery(**criteria)
        scoped = data.draw(st.booleans())
        scope = SearchScope(member_id=agent, bucket_ids=frozenset({bucket.id})) if scoped else None
        limit = data.draw(st.integers(1, 3))
        want = sorted(
            (
                c
                for c in everyone
                if company_matches(c, query)
                and (scope is None or c.created_by == agent or c.id in held)
            ),
            key=lambda c: (c.created_at, c.id),
        )

        def every_page(uow: UnitOfWork) -> list[Company]:
            out: list[Company] = []
            after = None
            while True:
                page = uow.views.search_companies(
                    seed.team_id, query, scope=scope, after=after, limit=limit
                )
                out.extend(page)
                if len(page) < limit:
                    return out
                after = (page[-1].created_at, page[-1].id)

        assert read(store, every_page) == want


class LastContactedContract(StoreContractBase):
    """``views.last_contacted`` is each contact's newest team-wide touch."""

    def test_last_contacted_is_the_newest_team_wide_touch(self, store: Store, seed: Seed) -> None:
        a = new_contact(seed, 10)
        b = new_contact(seed, 11)
        never = new_contact(seed, 12)
        t = seed.team_id

        def touch(cid: str, seconds: int, *, team_wide: bool = True) -> Touch:
            return Touch(
                team_id=t,
                contact_id=ContactId(cid),
                member_id=seed.agent.id,
                at=at(seconds),
                kind=TouchKind.INTERACTION if team_wide else TouchKind.DONE,
                team_wide=team_wide,
            )

        def fill(uow: UnitOfWork) -> None:
            uow.contacts.add_many([a, b, never])
            uow.touches.record([touch(a.id, 50), touch(b.id, 40)])
            uow.touches.record([touch(a.id, 30), touch(b.id, 60)])  # older one is ignored
            uow.touches.record([touch(never.id, 90, team_wide=False)])  # not team-wide

        write(store, fill)
        ids = [a.id, b.id, never.id, ContactId(PREFIXES["contact"] + "0" * 26)]
        got = read(store, lambda uow: uow.views.last_contacted(t, ids))
        assert got == {a.id: at(50), b.id: at(60)}
        assert read(store, lambda uow: uow.views.last_contacted(t, [])) == {}
        other = seed_team(store, "Other")
        assert read(store, lambda uow: uow.views.last_contacted(other.team_id, ids)) == {}


class InteractionCountsContract(StoreContractBase):
    """``views.interaction_counts`` counts a member's interactions in [start, end) by kind."""

    def test_interaction_counts_by_kind_in_a_half_open_range(
        self, store: Store, seed: Seed
    ) -> None:
        t = seed.team_id

        def logged(kind: InteractionKind, seconds: int, author: str) -> Interaction:
            return Interaction(
                id=new_interaction_id(),
                team_id=t,
                kind=kind,
                author_id=author,  # type: ignore[arg-type]
                occurred_at=at(seconds),
                logged_at=at(seconds),
                contact_ids=(seed.contact.id,),
                body="x",
            )

        rows = [
            logged(InteractionKind.CALL, 100, seed.agent.id),
            logged(InteractionKind.CALL, 150, seed.agent.id),
            logged(InteractionKind.NOTE, 199, seed.agent.id),
            logged(InteractionKind.CALL, 200, seed.agent.id),  # at the end: out
            logged(InteractionKind.EMAIL, 99, seed.agent.id),  # before the start: out
            logged(InteractionKind.CALL, 120, seed.admin.id),  # another author
        ]

        def fill(uow: UnitOfWork) -> None:
            for row in rows:
                uow.interactions.add(row)

        write(store, fill)

        def counts(uow: UnitOfWork) -> dict[str, int]:
            return uow.views.interaction_counts(t, seed.agent.id, at(100), at(200))

        assert read(store, counts) == {"call": 2, "note": 1}
        other = seed_team(store, "Other")
        assert (
            read(
                store,
                lambda uow: uow.views.interaction_counts(
                    other.team_id, seed.agent.id, at(0), at(999)
                ),
            )
            == {}
        )


class SavedFilterRepositoryContract(StoreContractBase):
    """Saved filters: round trip, versions, ``for_member`` by name then id, teams apart."""

    def _filter(self, seed: Seed, name: str, owner: str, *, shared: bool = False) -> SavedFilter:
        return SavedFilter(
            id=new_saved_filter_id(),
            team_id=seed.team_id,
            owner_id=owner,  # type: ignore[arg-type]
            name=name,
            query=ContactQuery(
                name="zoë kow",
                status="active",
                custom_field="tier",
                custom_value=1.5,
                last_contacted=DateRange(start=at(0), end=at(10)),
            ),
            created_at=at(20),
            shared=shared,
        )

    def test_saved_filters_round_trip_and_are_listed_by_name(
        self, store: Store, seed: Seed
    ) -> None:
        mine_b = self._filter(seed, "b hot", seed.agent.id)
        mine_a = self._filter(seed, "A warm", seed.agent.id)
        shared = self._filter(seed, "a team", seed.admin.id, shared=True)
        private = self._filter(seed, "boss only", seed.admin.id)

        def fill(uow: UnitOfWork) -> None:
            for f in (mine_b, mine_a, shared, private):
                uow.saved_filters.add(f)

        write(store, fill)
        t = seed.team_id
        assert read(store, lambda uow: uow.saved_filters.get(t, mine_b.id)) == mine_b
        listed = read(store, lambda uow: uow.saved_filters.for_member(t, seed.agent.id))
        assert listed == [shared, mine_a, mine_b]
        admin = read(store, lambda uow: uow.saved_filters.for_member(t, seed.admin.id))
        assert admin == [shared, private]
        with pytest.raises(AlreadyExists):
            write(store, lambda uow: uow.saved_filters.add(mine_a))
        other = seed_team(store, "Other")
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.saved_filters.get(other.team_id, mine_a.id))
        assert (
            read(store, lambda uow: uow.saved_filters.for_member(other.team_id, seed.agent.id))
            == []
        )

    def test_saved_filter_update_and_delete_need_the_stored_version(
        self, store: Store, seed: Seed
    ) -> None:
        saved = self._filter(seed, "hot", seed.agent.id)
        t = seed.team_id
        write(store, lambda uow: uow.saved_filters.add(saved))
        renamed = bump(saved, name="hotter", query=ContactQuery(source="web"), shared=True)
        write(store, lambda uow: uow.saved_filters.update(renamed))
        assert read(store, lambda uow: uow.saved_filters.get(t, saved.id)) == renamed
        with pytest.raises(ConcurrencyError):
            write(store, lambda uow: uow.saved_filters.update(bump(saved, name="stale")))
        with pytest.raises((ConcurrencyError, NotFound)):
            write(store, lambda uow: uow.saved_filters.delete(t, saved.id, 1))
        write(store, lambda uow: uow.saved_filters.delete(t, saved.id, 2))
        with pytest.raises(NotFound):
            read(store, lambda uow: uow.saved_filters.get(t, saved.id))
