"""Full verification against verification since a checkpoint signed at 90 % of the log.

On a bench store (:mod:`bench.store`, reused when kept), an auditor's key signs a checkpoint of
the log's first 90 % (its root computed from the ledger, as ``audit checkpoint`` would have
signed it then, after a clean full verification: the whole store verifies); then, each in a
process of its own with its peak memory, the full verification with every rule, and the
verification since that checkpoint.  Run from the repository root::

    python bench/verify_since.py [--events 14000,47000] [--dir DIR] [--at 0.9]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog
from store import ensure_store

from approvals import open_approvals
from approvals.audit.checkpoint import (
    generate_keys,
    load_checkpoint,
    load_private_key,
    load_public_key,
    sign,
)
from approvals.audit.merkle import range_hash
from approvals.audit.service import _leaf_reader, verify_since
from approvals.audit.verify import verify_log


def checkpoint_at(url: str, share: float, folder: Path) -> tuple[Path, Path, int]:
    """Sign a checkpoint of the first ``share`` of the log; return it, the public key, size."""
    private, public, _ = generate_keys(folder / "keys")
    app = open_approvals(url, create=False)
    try:
        total, read = _leaf_reader(app)
        size = max(1, int(total * share))
        made = sign(load_private_key(private), log=read(0, 1)[0].hex(), tree_size=size,
                    root=range_hash(read, 0, size), time=app.now(), verified="full")  # fmt: skip
    finally:
        app.close()
    path = folder / f"checkpoint-{size}.json"
    path.write_text(made.to_json(), encoding="utf-8")
    return path, public, size


def measure(kind: str, url: str, checkpoint: str, public: str) -> None:
    """Run one verification in this process and print it as JSON."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    app = open_approvals(url, create=False)
    try:
        started = time.perf_counter()
        if kind == "full":
            report = verify_log(app)
        else:
            report = verify_since(
                app, load_checkpoint(Path(checkpoint)), [], [load_public_key(Path(public))]
            )
        took = time.perf_counter() - started
    finally:
        app.close()
    since = report.since
    print(json.dumps({
        "events": report.events, "seconds": took, "ok": report.ok,
        "checked": report.events if since is None else since.events,
        "cases": None if since is None else since.cases,
        "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "workers_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }))  # fmt: skip


def _child(kind: str, url: str, checkpoint: Path, public: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--db", url, "--checkpoint",
         str(checkpoint), "--public", str(public)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", default="14000,47000", help="sizes, comma-separated")
    parser.add_argument("--dir", default=os.path.join(os.path.expanduser("~"), ".approvals-bench"),
                        help="where the SQLite stores are kept and reused")  # fmt: skip
    parser.add_argument("--at", type=float, default=0.9, help="where the checkpoint is (0-1)")
    parser.add_argument("--measure", choices=["full", "since"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", help=argparse.SUPPRESS)
    parser.add_argument("--public", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.db, args.checkpoint, args.public)
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    print(f"{'':<30}{'events':>9}{'checked':>9}{'cases':>7}{'seconds':>9}{'events/s':>10}"
          f"{'peak MB':>9}{'workers MB':>12}")  # fmt: skip
    for events in (int(size) for size in args.events.split(",")):
        url = ensure_store(events, args.dir).url
        with tempfile.TemporaryDirectory() as folder:
            checkpoint, public, size = checkpoint_at(url, args.at, Path(folder))
            rows = {kind: _child(kind, url, checkpoint, public) for kind in ("full", "since")}
        for kind, got in rows.items():
            label = "full, every rule" if kind == "full" else f"since checkpoint at {size:,}"
            flag = "" if got["ok"] else "  (NOT OK)"
            print(
                f"{label:<30}{got['events']:>9}{got['checked']:>9}{got['cases'] or '':>7}"
                f"{got['seconds']:>9.2f}{got['events'] / got['seconds']:>10,.0f}"
                f"{got['peak_kb'] / 1024:>9.0f}{got['workers_kb'] / 1024:>12.0f}{flag}"
            )
        ratio = rows["full"]["seconds"] / rows["since"]["seconds"]
        print(f"{'':<30}since is {ratio:.1f}x quicker than full at {events:,} events")


if __name__ == "__main__":
    main()
