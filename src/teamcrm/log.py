"""teamcrm's loggers: standard :mod:`logging`, silent unless the application configures it.

The library logs to these named loggers (children of ``teamcrm``, which has a
``NullHandler``, so nothing is printed unless the application sets up
logging, e.g. ``logging.basicConfig(level=logging.INFO)``):

* ``teamcrm.store`` — INFO: migrations applied, a dead PostgreSQL connection
  replaced; DEBUG: SQLite busy retries;
* ``teamcrm.routing`` — INFO: offers expired and response windows enforced
  by the background jobs;
* ``teamcrm.digest`` — INFO: digests sent, skipped and failed per run;
* ``teamcrm.retry`` — DEBUG: each retry of :func:`teamcrm.retry_on_conflict`.

Secrets (passwords, full store URLs with credentials) and contact data
(names, emails, bodies) are never logged at INFO or above; ids and counts
are.
"""

from __future__ import annotations

import logging

__all__ = ["digest", "retry", "routing", "store"]

logging.getLogger("teamcrm").addHandler(logging.NullHandler())

#: Migrations, connections, busy retries.
store = logging.getLogger("teamcrm.store")
#: Background routing jobs (offers, response windows).
routing = logging.getLogger("teamcrm.routing")
#: Email digest runs.
digest = logging.getLogger("teamcrm.digest")
#: Retries of concurrent edits.
retry = logging.getLogger("teamcrm.retry")
