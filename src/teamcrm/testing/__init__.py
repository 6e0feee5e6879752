"""Test helpers for teamcrm and for third-party storage adapters.

Install with the ``testing`` extra (``pip install teamcrm[testing]``); it
needs pytest and hypothesis.

* :mod:`teamcrm.testing.strategies` — hypothesis strategies for every
  entity, for awkward-but-valid input and for invalid input.
* :mod:`teamcrm.testing.contract` — the contract test suite every storage
  adapter must pass (subclass :class:`~teamcrm.testing.contract.StoreContract`
  and override its ``store`` fixture).
* :mod:`teamcrm.testing.stateful` — a hypothesis state machine that runs
  random use cases against your store and the in-memory reference store at
  once and compares everything observable
  (:func:`~teamcrm.testing.stateful.make_state_machine_test`).
* :mod:`teamcrm.testing.snapshot` — :func:`store_snapshot`, a comparable
  picture of a store's content.

See ``docs/adapters.md`` for a walk-through.
"""

from teamcrm.testing.snapshot import store_snapshot

__all__ = ["store_snapshot"]
