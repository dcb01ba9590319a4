"""Nonlinear Schrodinger, i h_t + 0.5 h_xx + |h|^2 h = 0, h = u + i v, on [-5, 5] x [0, pi/2].

h(x, 0) = 2 sech(x), periodic in x (h and h_x). Reference: Fourier split-step (Strang) with 512 modes and
dt = 1e-5; halving dt changes it by less than 1e-8 and halving the modes by less than 1e-9
(tests/test_benchmarks.py).
"""

import math

import numpy as np
import torch

from pinnkan import Box, Initial, Periodic, Problem
from pinnkan.cache import cached


def split_step(times, modes=512, dt=1e-5):
    """h on the periodic grid x = -5 + 10 j / modes at the given times, (len(times), modes) complex."""
    x = -5 + 10 * np.arange(modes) / modes
    k = 2 * np.pi * np.fft.fftfreq(modes, d=10 / modes)
    h = (2 / np.cosh(x)).astype(complex)
    half = np.exp(-0.25j * k**2 * dt)  # half a step of h_t = 0.5 i h_xx
    out, t = [], 0.0
    for target in times:
        n = int(round((target - t) / dt))
        for _ in range(n):
            h = np.fft.ifft(half * np.fft.fft(h))
            h = h * np.exp(1j * np.abs(h) ** 2 * dt)
            h = np.fft.ifft(half * np.fft.fft(h))
        t += n * dt
        out.append(h.copy())
    return x, np.array(out)


class Schrodinger(Problem):
    name = "schrodinger"
    description = "i h_t + 0.5 h_xx + |h|^2 h = 0, h(x,0) = 2 sech x, periodic on [-5,5], t in [0, pi/2]"
    coords = ("x", "t")
    fields = ("u", "v")
    domain = Box((-5.0, 0.0), (5.0, math.pi / 2))
    conditions = (
        Initial(value=lambda p, x: torch.stack([2 / torch.cosh(x[:, 0]), 0 * x[:, 0]], 1)),
        Periodic(coord="x", order=1),
    )

    def residual(self, x, jet):
        u, v = jet["u"], jet["v"]
        m = u.val**2 + v.val**2
        return torch.stack([u.d("t") + 0.5 * v.dd("x") + m * v.val, v.d("t") - 0.5 * u.dd("x") - m * u.val], 1)

    def reference(self):
        ts = np.linspace(0, math.pi / 2, 101)

        def compute():
            x, h = split_step(ts)
            return {"u": h.real, "v": h.imag}

        data = cached("bench-nls-512-v1", compute)
        xs = -5 + 10 * np.arange(513) / 512
        u = np.concatenate([data["u"], data["u"][:, :1]], 1).T  # (x, t), the periodic copy at x = 5 added
        v = np.concatenate([data["v"], data["v"][:, :1]], 1).T
        return [xs, ts], np.stack([u, v], -1)
