"""What the SQLite and the PostgreSQL store share: the SQL layer.

* :mod:`.dialect`: the :class:`~teamcrm.adapters.sql.dialect.Dialect` object
  that spells the few constructs in which the two databases differ;
* :mod:`.errors`: the neutral :class:`~teamcrm.adapters.sql.errors.DuplicateKey`;
* :mod:`.base`: the unit of work's context, the repositories' base class and
  the ``translated`` decorator;
* :mod:`.codec`: values to columns and back.

The repositories both stores share are built on these, one module per
concept (each takes the dialect from its unit of work):

* :mod:`.teams` (teams, members), :mod:`.contacts`, :mod:`.companies`,
  :mod:`.buckets` (buckets, memberships), :mod:`.interactions`,
  :mod:`.outbox`;
* routing: :mod:`.pools` (pools, round-robin cursors), :mod:`.leads`,
  :mod:`.offers`, :mod:`.inbound` (inbound buckets);
* :mod:`.followups` (policies, touches, due dates, snoozes), :mod:`.tasks`;
* :mod:`.views` (search, grid facts, insights), :mod:`.filters`
  (custom-field criteria), :mod:`.saved_filters`;
* :mod:`.records` (opportunities, cases), :mod:`.programs`,
  :mod:`.campaigns`, :mod:`.notifications` (with the digest queue),
  :mod:`.intake`, :mod:`.consumers`.

Schema: :mod:`.ddl` (the :class:`~teamcrm.adapters.sql.ddl.SchemaDialect`
words of table definitions), :mod:`.migrations` (the registry both stores
run and record) and :mod:`.schema` (the shared migrations, functions of the
schema dialect); :mod:`.repositories` registers the shared repositories.

What only one database has stays with it: the connection, pragmas, the
migration runner, SQLite's own migrations (FTS5, triggers), the name-word
index and the ``lead_grid`` table in :mod:`teamcrm.adapters.sqlite`; row
locks and PostgreSQL's own statements in :mod:`teamcrm.adapters.postgres`.
Nothing here imports a driver or either store's package.
"""

from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.adapters.sql.errors import DuplicateKey

__all__ = ["Dialect", "DuplicateKey"]
