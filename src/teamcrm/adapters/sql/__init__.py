"""What the SQLite and the PostgreSQL store share: the SQL layer.

* :mod:`.dialect`: the :class:`~teamcrm.adapters.sql.dialect.Dialect` object
  that spells the few constructs in which the two databases differ;
* :mod:`.errors`: the neutral :class:`~teamcrm.adapters.sql.errors.DuplicateKey`;
* :mod:`.base`: the unit of work's context, the repositories' base class and
  the ``translated`` decorator;
* :mod:`.codec`: values to columns and back.

The shared repositories are built on these (their modules are
:mod:`teamcrm.adapters.sqlite.repositories` and its neighbours, which take
the dialect from their unit of work).  Nothing here imports a driver.
"""

from teamcrm.adapters.sql.dialect import Dialect
from teamcrm.adapters.sql.errors import DuplicateKey

__all__ = ["Dialect", "DuplicateKey"]
