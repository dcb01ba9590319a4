"""Allen-Cahn in 2-D, u_t = 0.001 lap(u) + u - u^3 on [-1, 1]^2, periodic, t in [0, 1].

u(x, y, 0) = 0.6 sin(pi x) sin(pi y) + 0.4 cos(2 pi x). Reference: Fourier pseudo-spectral on 128^2 modes,
ETDRK4 (Cox-Matthews, Kassam-Trefethen contour integrals) with dt = 1e-3; 64^2 modes or dt = 2e-3 change
it by less than 1e-8 (tests/test_benchmarks.py).
"""

import math

import numpy as np
import torch

from pinnkan import Box, Initial, Periodic, Problem
from pinnkan.cache import cached

EPS2 = 0.001
PI = math.pi


def initial(x, y):
    return 0.6 * np.sin(PI * x) * np.sin(PI * y) + 0.4 * np.cos(2 * PI * x)


def etdrk4(times, modes=128, dt=1e-3):
    """u on the periodic grid (modes x modes, x_j = -1 + 2 j / modes) at the given times."""
    g = -1 + 2 * np.arange(modes) / modes
    X, Y = np.meshgrid(g, g, indexing="ij")
    k = np.pi * np.fft.fftfreq(modes, d=1 / modes)  # wavenumbers of period 2
    K2 = k[:, None] ** 2 + k[None, :] ** 2
    L = -EPS2 * K2 + 1.0  # the linear part: diffusion and +u
    E, E2 = np.exp(dt * L), np.exp(dt * L / 2)
    r = np.exp(1j * np.pi * (np.arange(1, 33) - 0.5) / 32)
    LR = dt * L[..., None] + r
    Q = dt * np.real(np.mean((np.exp(LR / 2) - 1) / LR, -1))
    f1 = dt * np.real(np.mean((-4 - LR + np.exp(LR) * (4 - 3 * LR + LR**2)) / LR**3, -1))
    f2 = dt * np.real(np.mean((2 + LR + np.exp(LR) * (-2 + LR)) / LR**3, -1))
    f3 = dt * np.real(np.mean((-4 - 3 * LR - LR**2 + np.exp(LR) * (4 - LR)) / LR**3, -1))

    def N(vh):
        u = np.real(np.fft.ifft2(vh))
        return np.fft.fft2(-(u**3))

    v = np.fft.fft2(initial(X, Y))
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
        out.append(np.real(np.fft.ifft2(v)))
    return g, np.array(out)


class AllenCahn2D(Problem):
    name = "allen_cahn2d"
    description = "u_t = 0.001 lap u + u - u^3 on [-1,1]^2 periodic, t in [0,1]"
    coords = ("x", "y", "t")
    domain = Box((-1.0, -1.0, 0.0), (1.0, 1.0, 1.0))
    conditions = (
        Initial(value=lambda p, x: 0.6 * torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:2])
                + 0.4 * torch.cos(2 * PI * x[:, :1])),
        Periodic(coord="x"),
        Periodic(coord="y"),
    )

    def residual(self, x, jet):
        return jet.d("t") - EPS2 * (jet.dd("x") + jet.dd("y")) - jet.val + jet.val**3

    def reference(self):
        ts = np.linspace(0, 1, 21)

        def compute():
            g, u = etdrk4(ts)
            return {"u": u}

        u = cached("bench-allen-cahn2d-128-v1", compute)["u"]  # (t, x, y)
        u = np.concatenate([u, u[:, :1]], 1)
        u = np.concatenate([u, u[:, :, :1]], 2)  # the periodic copies at x = 1 and y = 1
        g = -1 + 2 * np.arange(129) / 128
        return [g, g, ts], np.transpose(u, (1, 2, 0))[..., None]
