"""The neutral driver error the shared repositories know.

:class:`DuplicateKey` is what a connection edge raises for a uniqueness
violation when its driver's own exception must not leave it (the PostgreSQL
connection); the dialect's ``translate`` turns it into
:class:`~teamcrm.errors.AlreadyExists` naming the record and its key.
"""

from __future__ import annotations

__all__ = ["DuplicateKey"]


class DuplicateKey(Exception):
    """A statement broke a unique or primary key constraint (the driver's message kept)."""
