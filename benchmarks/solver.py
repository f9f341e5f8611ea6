"""Time symlib.solve on the largest cases the chapters use (run by hand: python benchmarks/solver.py).

Each case is solved with a cold cache, once per repetition, on one thread (the solver works on
many small matrices; one thread is the fastest setting on small machines).
"""

from __future__ import annotations

import time

import torch

from symlib import reps as R
from symlib import solve as S


def cases() -> dict[str, tuple]:
    img6 = R.shifts_2d(6, 6)
    idx = torch.arange(6)
    near = torch.isin((idx[None, :] - idx[:, None]) % 6, torch.tensor([5, 0, 1]))
    mask9 = (near[:, None, :, None] & near[None, :, None, :]).reshape(36, 36)
    sets6 = R.tensor_product(R.symmetric(6), R.symmetric(6))
    return {
        "ch02 shifts of 6×6 images, svd (1,296 unknowns)": (img6, img6, None, "svd"),
        "ch02 3×3 window, 2→3 channels, orbits (7,776 unknowns)":
            (R.direct_sum(*[img6] * 2), R.direct_sum(*[img6] * 3), mask9.repeat(3, 2), "orbits"),
        "ch06 translations of 16×16 images, orbits (65,536 unknowns)":
            (R.shifts_2d(16, 16), R.shifts_2d(16, 16), None, "orbits"),
        "ch06 S_6 on edge features, svd (1,296 unknowns)": (sets6, sets6, None, "svd"),
        "ch06 SO(3)×S_10 on 10 vectors, svd (900 unknowns)":
            (R.outer(R.so3_vectors(), R.symmetric(10)),) * 2 + (None, "svd"),
    }


def main(repeats: int = 3) -> None:
    torch.set_num_threads(1)
    for name, (rep_in, rep_out, mask, method) in cases().items():
        times = []
        for _ in range(repeats):
            S.clear_cache()
            start = time.perf_counter()
            dim = S.solve(rep_in, rep_out, support=mask, method=method).shape[0]
            times.append(time.perf_counter() - start)
        print(f"{min(times):8.3f} s  (dim {dim:>4})  {name}")


if __name__ == "__main__":
    main()
