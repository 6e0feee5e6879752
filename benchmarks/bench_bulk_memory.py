"""Peak memory of one bulk bucket call (issue 17: "bulk calls ... peak memory stays bounded").

    python benchmarks/run.py [--quick] bulk_memory

A fresh process opens a SQLite team of *n* contacts (built first, through
``create_contacts`` in batches) and adds them all to a new bucket with one
``add_to_bucket`` call.  Printed:

* ``bulk_add_to_bucket_extra_mb``: the process's peak RSS (``VmHWM``) during
  the call minus its peak before it (the id list, the store and the library
  already loaded): what the call itself costs;
* ``bulk_add_to_bucket_base_mb``: that peak before the call, the floor;
* ``bulk_add_to_bucket_items``: *n* (200,000; ``--quick`` 20,000).

The call checks its contacts ``CHECK_BATCH`` at a time and keeps none of them
for its reactions beyond ``KEEP_CHECKED_CONTACTS``
(``teamcrm.service.base``).  ``create_contacts`` and ``add_to_bucket`` still
return one record per item; ``import_contacts`` is the bounded path for
creating contacts (``benchmarks/import_contacts.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from peak_memory import peak_kib
from registry import Result, benchmark

import teamcrm

ITEMS = 200_000
QUICK_ITEMS = 20_000


def _build(path: Path, n: int) -> dict[str, object]:
    crm = teamcrm.open(f"sqlite:///{path}", create=True)
    _, admin = crm.create_team("Bulk", admin_name="Ana")
    ana = crm.as_member(admin.id)
    ids: list[str] = []
    for start in range(0, n, 20_000):
        drafts = [{"first_name": f"F{i}", "last_name": "L"} for i in range(start, start + 20_000)]
        ids += [c.id for c in ana.create_contacts(drafts[: n - start])]
    crm.close()
    return {"admin": admin.id, "ids": ids}


def _child(path: str, spec: str) -> None:
    with open(spec, encoding="utf-8") as f:
        data = json.load(f)
    crm = teamcrm.open(f"sqlite:///{path}")
    ana = crm.as_member(data["admin"])
    bucket = ana.create_bucket("Everyone")
    before = peak_kib()
    added = ana.add_to_bucket(bucket.id, data["ids"])
    after = peak_kib()
    assert len(added) == len(data["ids"])
    crm.close()
    print(f"{before / 1024:.1f} {(after - before) / 1024:.1f}")


@benchmark("bulk_memory", "peak RSS of one add_to_bucket of 200,000 contacts on SQLite")
def bulk_memory(quick: bool) -> list[Result]:
    """Build the team, then measure the call in a fresh process."""
    n = QUICK_ITEMS if quick else ITEMS
    with tempfile.TemporaryDirectory(prefix="teamcrm-bench-") as tmp:
        db, spec = Path(tmp) / "bulk.db", Path(tmp) / "ids.json"
        spec.write_text(json.dumps(_build(db, n)), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(db), str(spec)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
    base, extra = (float(v) for v in done.stdout.split()[-2:])
    return [
        Result("bulk_add_to_bucket_items", n, "contacts"),
        Result("bulk_add_to_bucket_base_mb", base, "MiB"),
        Result("bulk_add_to_bucket_extra_mb", extra, "MiB"),
    ]


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    _child(sys.argv[2], sys.argv[3])
