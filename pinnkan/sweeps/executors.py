"""Where a sweep's points run: this process, a pool of local processes, or Ray tasks."""

from __future__ import annotations

import copy
import os
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from pinnkan.errors import UserError

EXECUTORS = ("local", "ray")


def execute(run: dict[str, Any], out: str, threads: int) -> dict[str, Any]:
    """Run one point in this process (a worker) into OUT/runs/<id>; never raises."""
    os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    from pinnkan.runfolder import solve_config

    run_dir = Path(out) / "runs" / run["id"]
    cfg = copy.deepcopy(run["cfg"])
    cfg["run"]["out"] = str(run_dir)
    try:
        solve_config(cfg, echo=False)
        return {"id": run["id"], "ok": True}
    except Exception as exc:  # a failed point is recorded, the sweep goes on
        return {
            "id": run["id"],
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "trace": traceback.format_exc(limit=5),
        }


def local(runs: list[dict[str, Any]], out: str, workers: int) -> Iterator[dict[str, Any]]:
    """Results as points finish, on ``workers`` processes with cores / workers torch threads each."""
    cores = os.cpu_count() or 1
    threads = max(1, cores // workers)
    if workers == 1:
        for r in runs:
            yield execute(r, out, threads)
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(execute, r, out, threads): r for r in runs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()


def ray(runs: list[dict[str, Any]], out: str, workers: int, address: str | None) -> Iterator[dict[str, Any]]:
    """Results as points finish, each a Ray task of one CPU (a local Ray of ``workers`` CPUs unless ``address``)."""
    try:
        import ray as ray_lib
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'pinnkan[ray]'") from None
    started = False
    if not ray_lib.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray_lib.init(log_to_driver=False, **kwargs)
        started = True
    try:
        remote = ray_lib.remote(num_cpus=1)(execute)
        pending = {remote.remote(r, str(Path(out).resolve()), 1): r for r in runs}
        while pending:
            done, _ = ray_lib.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                yield ray_lib.get(ref)
    finally:
        if started:
            ray_lib.shutdown()
