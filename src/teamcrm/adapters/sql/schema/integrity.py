"""Migration ``0300_no_dangling_rows``: no row names a deleted bucket, contact or company.

Earlier releases could leave such rows behind on PostgreSQL, where writers
run side by side (``delete_bucket`` / ``delete_contact`` racing
``add_to_bucket``), and ``delete_bucket`` kept members' inbound-bucket
choices naming the deleted bucket on every store.  The migration deletes
those rows (they could only mislead: a membership of a deleted bucket is
invisible, one of a deleted contact shows nothing), and from now on:

* on SQLite a trigger removes the inbound-bucket choices of a deleted
  bucket (memberships already go with their bucket in the repository);
* on PostgreSQL (:mod:`teamcrm.adapters.postgres.schema`) foreign keys with
  ``ON DELETE CASCADE`` tie memberships and inbound-bucket choices to their
  bucket, so a concurrent insert either waits for the delete and fails, or
  goes first and is deleted with the bucket.

Contacts and companies cannot be foreign keys of ``memberships.item_id``
(one column holds both); units hold the contacts they add instead
(``uow.contacts.lock``, see ``docs/storage.md``).

It neither merges nor deletes the extra "Routed leads" buckets that the
inbound-bucket race of earlier releases made on PostgreSQL: they are
ordinary personal buckets of their member, who may rename or delete them.
"""

from __future__ import annotations

__all__ = ["CLEANUP"]

#: The statements both stores run first: delete the rows naming deleted ones.
CLEANUP = (
    "DELETE FROM memberships WHERE NOT EXISTS"
    " (SELECT 1 FROM buckets b WHERE b.id = memberships.bucket_id)",
    "DELETE FROM memberships WHERE substr(item_id, 1, 3) = 'ct_' AND NOT EXISTS"
    " (SELECT 1 FROM contacts c WHERE c.id = memberships.item_id)",
    "DELETE FROM memberships WHERE substr(item_id, 1, 3) = 'co_' AND NOT EXISTS"
    " (SELECT 1 FROM companies c WHERE c.id = memberships.item_id)",
    "DELETE FROM inbound_buckets WHERE NOT EXISTS"
    " (SELECT 1 FROM buckets b WHERE b.id = inbound_buckets.bucket_id)",
)
