"""The migrations both SQL stores share, each a function of the schema dialect.

Importing this package registers them (:func:`teamcrm.adapters.sql.migrations.migration`);
both store packages import it, so a process that opens either store knows
every shared migration of the release.  Each statement is built once per
store from :class:`~teamcrm.adapters.sql.ddl.SchemaDialect` words
(``d.integer``, ``d.text``, ``d.auto_key``, ``d.table_end(...)``); nothing
rewrites it afterwards.  What only one database has (SQLite's FTS5 and
triggers, PostgreSQL's functions) stays with its store, registered under the
same migration names.

* :mod:`.core`: teams, members, contacts, companies, buckets, interactions, outbox;
* :mod:`.followups`: follow-ups, tasks, notifications and digests;
* :mod:`.routing`: pools, leads, offers, cursors, loads;
* :mod:`.intake`: intake keys, consumer positions;
* :mod:`.programs`: programs, enrolments, records, campaigns;
* :mod:`.views`: the shared part of ``0200_views``;
* :mod:`.integrity`, :mod:`.phones`, :mod:`.pool_reminders`: statements and
  data steps of migrations each store registers in its own form.
"""

from teamcrm.adapters.sql.schema import core, followups, intake, programs, routing

__all__ = ["core", "followups", "intake", "programs", "routing"]
