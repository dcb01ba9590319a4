"""Data-parallel training on ``torch.distributed``: the processes a run is split over, and its launcher.

Every process holds the whole model and the whole set of collocation points (sampled from the same seed), and
evaluates the loss on its own contiguous share of each point set: the interior points, each condition's
points (a periodic condition's coupled pairs stay together) and the observations. The loss is a sum of
means, so the run's loss is the sum over processes of each share's sum divided by the global count;
:class:`Comm` adds those partial sums (``all_reduce``), and the gradients, and Gauss-Newton's J^T J and
J^T r (P x P and P: small beside the Jacobian), so that every process takes the same step. Decisions that
depend on a clock or a signal (the time budget, Ctrl-C) are rank 0's, broadcast to the others.

One process (``Comm()`` with size 1) reduces nothing: the code paths are the single-process ones.

Launching: ``pinnkan solve ... --nproc N`` starts N processes on this machine (gloo on CPU, NCCL on GPUs,
one GPU per process); under ``torchrun`` (several machines) the environment it sets (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``, ``LOCAL_RANK``) is read instead. Rank 0 alone writes
the run folder and its checkpoints.
"""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import torch
from torch import Tensor


class Comm:
    """The processes of one run: ``rank`` of ``size``. Reductions are identity for one process."""

    def __init__(self, rank: int = 0, size: int = 1) -> None:
        self.rank, self.size = rank, size

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> slice:
        """This process's contiguous share of n rows (the first n mod size processes take one more)."""
        base, extra = divmod(n, self.size)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (1 if self.rank < extra else 0))

    def rows(self, x: Tensor, coupled: int = 1) -> Tensor:
        """This process's share of points (n, ...) stored as ``coupled`` blocks of n / coupled rows (a periodic
        condition's pairs: block k holds the k-th point of every pair), the pairs kept together."""
        if not self.active:
            return x
        if coupled == 1:
            return x[self.share(x.shape[0])]
        blocks = x.reshape(coupled, -1, *x.shape[1:])
        return blocks[:, self.share(blocks.shape[1])].reshape(-1, *x.shape[1:])

    def gather(self, local: Tensor, n: int) -> Tensor:
        """The whole (n, ...) from each process's share (its rows of :meth:`share`), on every process."""
        if not self.active:
            return local
        full = local.new_zeros((n, *local.shape[1:]))
        full[self.share(n)] = local
        return self.sum_(full.to(self.device)).to(local)

    def all_true(self, flag: bool) -> bool:
        """Whether ``flag`` holds on every process (so that all take the same branch around a collective)."""
        if not self.active:
            return flag
        t = torch.tensor([0.0 if flag else 1.0], dtype=torch.float64, device=self.device)
        return float(self.max_(t)[0]) == 0.0

    def sum_(self, t: Tensor) -> Tensor:
        """Sum ``t`` over the processes, in place (returned)."""
        if self.active:
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)
        return t

    def max_(self, t: Tensor) -> Tensor:
        if self.active:
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return t

    def sum_float(self, value: float | Tensor) -> float:
        """A scalar summed over the processes (float64)."""
        if not self.active:
            return float(value)
        t = torch.as_tensor(float(value), dtype=torch.float64).reshape(1)
        return float(self.sum_(t.to(self.device))[0])

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` (any picklable value), on every process."""
        if not self.active:
            return obj
        box = [obj if self.main else None]
        torch.distributed.broadcast_object_list(box, src=0, device=self.device if self.device.type == "cuda" else None)
        return box[0]

    @property
    def device(self) -> torch.device:
        if self.active and torch.distributed.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def sum_grads_(self, params: list[Tensor]) -> None:
        """Sum the parameters' gradients over the processes (one flat all_reduce)."""
        if not self.active:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        self.sum_(flat)
        at = 0
        for p, g in zip(params, grads):
            p.grad = flat[at : at + g.numel()].view_as(g).clone()
            at += g.numel()


def current() -> Comm:
    """The run's processes: those of the initialised process group, else this one alone."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return Comm(torch.distributed.get_rank(), torch.distributed.get_world_size())
    return Comm()


def init_from_env(device: str = "cpu") -> Comm:
    """Join the process group the environment describes (``WORLD_SIZE`` > 1, as ``torchrun`` and
    ``--nproc`` set it): gloo on CPU, NCCL with ``device = "cuda"`` (one GPU per local rank)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1 or (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return current()
    backend = "gloo"
    if device == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        backend = "nccl"
    timeout = datetime.timedelta(seconds=float(os.environ.get("PINNKAN_DIST_TIMEOUT", "600")))
    torch.distributed.init_process_group(backend, timeout=timeout)
    return current()


def finish() -> None:
    """Leave the process group together: every process waits for the others to reach the end (rank 0 writes
    the run folder after training), then the group is taken down. A process that left it standing could
    abort at exit while its communication threads still ran ("terminate called without an active
    exception"), failing a run that had ended well. A no-op outside a data-parallel run."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(argv: list[str], nproc: int) -> int:
    """Run ``pinnkan ARGV`` as ``nproc`` processes on this machine; their exit code (0 when all end well).

    A process that ends with an error ends the others at once: the run stops with one line naming the rank,
    its checkpoint (rank 0's, the last one written) left as it was."""
    port = _free_port()
    procs = []
    for rank in range(nproc):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(nproc),
            "LOCAL_WORLD_SIZE": str(nproc),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        if sys.platform.startswith("linux"):  # one machine: gloo over the loopback, whatever the hostname resolves to
            env.setdefault("GLOO_SOCKET_IFNAME", "lo")
        threads = str(max(1, (os.cpu_count() or 1) // nproc))  # the cores shared out, unless set already
        for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env.setdefault(var, threads)
        procs.append(subprocess.Popen([sys.executable, "-m", "pinnkan", *argv], env=env))
    code = 0
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(r, c) for r, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                deadline = time.monotonic() + 3  # the others often end on their own (the same user error)
                while time.monotonic() < deadline and any(p.poll() is None for p in procs):
                    time.sleep(0.05)
                codes = [p.poll() for p in procs]
                failed = [(r, c) for r, c in enumerate(codes) if c not in (None, 0)]
                rank, code = failed[0]
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + 10
                for p in procs:
                    try:
                        p.wait(timeout=max(deadline - time.monotonic(), 0.1))
                    except subprocess.TimeoutExpired:
                        p.kill()
                if rank != 0 or code not in (2, 3, 130, 143):  # rank 0 reports its own user errors
                    message = f"pinnkan: process {rank} of {nproc} ended with exit code {code}; the run stopped"
                    print(message, file=sys.stderr)
                return code
            if all(c == 0 for c in codes):
                return 0
            time.sleep(0.05)
    except KeyboardInterrupt:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            p.wait()
        return 130
