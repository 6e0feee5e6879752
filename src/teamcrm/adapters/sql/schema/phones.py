"""Migration ``0300_phone_keys``: phone numbers stored under their E.164 key.

Before it, a number was stored reduced to its digits (``"(617) 555-0101"``
as ``6175550101``, ``"+1 617 555 0101"`` as ``+16175550101``), so the same
number had two spellings in the store and dedupe, search and lead keys
missed the match.  The migration:

* (``0009_phone_columns``, :mod:`teamcrm.adapters.sql.schema.core`) adds
  ``teams.phone_region`` (``'US'`` for existing teams, the default of
  :class:`~teamcrm.team.TeamSettings`) and ``contact_phones.display`` (the
  number as typed);
* re-keys every stored number with :func:`teamcrm.phones.phone_key` in its
  team's region, keeping the old text as ``display``; two numbers of one
  contact that turn out to be the same keep one row (validated if either
  was);
* re-keys the ``phone:`` keys of leads (``leads.keys`` and ``lead_keys``) so
  dedupe before routing matches the new keys;
* keeps a number that cannot be parsed as it was stored: nothing is lost.
  :meth:`~teamcrm.service.MemberSession.unparsed_phones` (``teamcrm phones
  report``) lists them.

The data step (:func:`rekey_phones`) runs on SQLite and, through the
PostgreSQL migration's Python step, on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.phones import phone_key

__all__ = ["Run", "rekey_phones"]

#: Executes one statement with ``?`` placeholders and returns its rows.
Run = Callable[[str, Sequence[Any]], list[Any]]


def rekey_phones(run: Run, dialect: Dialect) -> int:
    """Re-key the stored numbers and lead keys; return how many rows changed.

    *run* executes one statement with ``?`` placeholders and returns its rows;
    *dialect* is the store's (it spells the insert that skips a duplicate key).
    """
    regions: dict[str, str | None] = dict(run("SELECT id, phone_region FROM teams", ()))
    rows = run(
        "SELECT contact_id, position, team_id, number, validated FROM contact_phones"
        " ORDER BY contact_id, position",
        (),
    )
    changed = 0
    kept: dict[tuple[str, str], tuple[int, int]] = {}  # (contact, key) -> (position, validated)
    for cid, position, tid, number, validated in rows:
        key = phone_key(number, regions.get(tid)) or number
        seen = kept.get((cid, key))
        if seen is not None:  # the same number twice: keep the first row
            run("DELETE FROM contact_phones WHERE contact_id = ? AND position = ?", (cid, position))
            if validated and not seen[1]:
                run(
                    "UPDATE contact_phones SET validated = 1 WHERE contact_id = ? AND position = ?",
                    (cid, seen[0]),
                )
            changed += 1
            continue
        kept[(cid, key)] = (position, validated)
        if key != number:
            run(
                "UPDATE contact_phones SET number = ?, display = ?"
                " WHERE contact_id = ? AND position = ?",
                (key, number, cid, position),
            )
            changed += 1
    return changed + _rekey_leads(run, regions, dialect)


def _lead_key(key: str, region: str | None) -> str:
    if not key.startswith("phone:"):
        return key
    number = key[len("phone:") :]
    new = phone_key(number, region)
    return key if new is None else f"phone:{new}"


def _rekey_leads(run: Run, regions: dict[str, str | None], dialect: Dialect) -> int:
    changed = 0
    for lid, tid, keys in run(
        "SELECT id, team_id, keys FROM leads WHERE keys LIKE ?", ("%phone:%",)
    ):
        old = json.loads(keys)
        new = list(dict.fromkeys(_lead_key(k, regions.get(tid)) for k in old))
        if new != old:
            run("UPDATE leads SET keys = ? WHERE id = ?", (json.dumps(new), lid))
            changed += 1
    for tid, pool, key, lid in run(
        "SELECT team_id, pool_key, key, lead_id FROM lead_keys WHERE key LIKE ?", ("phone:%",)
    ):
        new_key = _lead_key(key, regions.get(tid))
        if new_key == key:
            continue
        run(
            "DELETE FROM lead_keys WHERE team_id = ? AND pool_key = ? AND key = ? AND lead_id = ?",
            (tid, pool, key, lid),
        )
        run(
            f"{dialect.insert_ignore('lead_keys', 'team_id, pool_key, key, lead_id')}"
            f" VALUES (?, ?, ?, ?){dialect.on_conflict_nothing}",
            (tid, pool, new_key, lid),
        )
        changed += 1
    return changed
