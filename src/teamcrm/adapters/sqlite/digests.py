"""SQLite support for the email digest queue of notifications.

Adds to the ``notifications`` table of :mod:`teamcrm.adapters.sqlite.notifications`
(by a later migration, so databases made before it upgrade in place):

* ``notifications.email_skipped_at`` - set when a notification is taken off the
  email queue (its member is inactive or has no address);
* ``notification_digests`` - one row per member who ever had a digest or a
  claim: ``last_digest_at`` and the live claim (``claim_token``, ``claimed_at``);
* a partial index over the pending notifications (neither emailed nor skipped).

The claim is one conditional upsert: the database, not an earlier read,
decides which worker gets a member's digest, so any number of processes can
run :func:`~teamcrm.service.notifications.send_digests` at once.

The repositories' code is shared with the PostgreSQL store and lives in
:mod:`teamcrm.adapters.sql.notifications`; their tables are
shared migrations (:mod:`teamcrm.adapters.sql.schema`) and they are registered
in :mod:`teamcrm.adapters.sql.repositories`; this module re-exports them under
their old import path.
"""

from __future__ import annotations

from teamcrm.adapters.sql.notifications import SQLiteDigestNotifications

__all__ = ["SQLiteDigestNotifications"]
