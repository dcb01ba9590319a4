"""Kuramoto-Sivashinsky on a short window: u_t + a u u_x + b u_xx + c u_xxxx = 0 on [0, 2 pi] x [0, 1].

a = 100/16, b = 100/16^2, c = 100/16^4 (the 32 pi domain rescaled to 2 pi), periodic,
u(x, 0) = cos(x) (1 + sin(x)). Reference: Fourier pseudo-spectral with 256 modes, ETDRK4 with dt = 1e-5
(Kassam-Trefethen contour integrals); 512 modes change it by 1e-10 and dt = 2e-5 by 1.3e-8 at t = 1.
"""

import math

import numpy as np
import torch

from pinnkan import Box, Initial, Periodic, Problem
from pinnkan.cache import cached

A, B, C = 100 / 16, 100 / 16**2, 100 / 16**4


def etdrk4(times, modes=256, dt=1e-5):
    x = 2 * np.pi * np.arange(modes) / modes
    k = np.fft.fftfreq(modes, d=1 / modes)
    L = B * k**2 - C * k**4
    E, E2 = np.exp(dt * L), np.exp(dt * L / 2)
    r = np.exp(1j * np.pi * (np.arange(1, 33) - 0.5) / 32)
    LR = dt * L[:, None] + r[None, :]
    Q = dt * np.real(np.mean((np.exp(LR / 2) - 1) / LR, 1))
    f1 = dt * np.real(np.mean((-4 - LR + np.exp(LR) * (4 - 3 * LR + LR**2)) / LR**3, 1))
    f2 = dt * np.real(np.mean((2 + LR + np.exp(LR) * (-2 + LR)) / LR**3, 1))
    f3 = dt * np.real(np.mean((-4 - 3 * LR - LR**2 + np.exp(LR) * (4 - LR)) / LR**3, 1))
    g = -0.5j * A * k
    g[modes // 2] = 0.0  # the Nyquist mode of a derivative

    def N(vh):
        return g * np.fft.fft(np.real(np.fft.ifft(vh)) ** 2)

    v = np.fft.fft(np.cos(x) * (1 + np.sin(x)))
    out, t = [], 0.0
    for target in times:
        for _ in range(int(round((target - t) / dt))):
            Nv = N(v)
            a = E2 * v + Q * Nv
            Na = N(a)
            b = E2 * v + Q * Na
            Nb = N(b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = N(c)
            v = E * v + Nv * f1 + 2 * (Na + Nb) * f2 + Nc * f3
        t = target
        out.append(np.real(np.fft.ifft(v)))
    return x, np.array(out)


class KuramotoSivashinsky(Problem):
    name = "kuramoto_sivashinsky"
    description = "u_t + (100/16) u u_x + (100/16^2) u_xx + (100/16^4) u_xxxx = 0, periodic on [0, 2 pi], t in [0, 1]"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (2 * math.pi, 1.0))
    conditions = (
        Initial(value=lambda p, x: torch.cos(x[:, :1]) * (1 + torch.sin(x[:, :1]))),
        Periodic(coord="x"),
    )

    def residual(self, x, jet):
        return jet.d("t") + A * jet.val * jet.d("x") + B * jet.dd("x") + C * jet.d("x", "x", "x", "x")

    def reference(self):
        ts = np.linspace(0, 1, 101)

        def compute():
            _, u = etdrk4(ts)
            return {"u": u}

        u = cached("bench-ks-256-v1", compute)["u"]  # (t, x)
        u = np.concatenate([u, u[:, :1]], 1).T  # (x, t), the periodic copy at x = 2 pi added
        xs = 2 * np.pi * np.arange(257) / 256
        return [xs, ts], u[..., None]
