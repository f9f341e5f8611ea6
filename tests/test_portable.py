"""symlib.portable: the samplers' distributions, the elementary functions' accuracy, and the same bits
under torch's portable kernels as under this CPU's vector kernels."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from decimal import Decimal, localcontext

import numpy as np
import pytest
import torch
from scipy import stats
from torch import Tensor

from symlib import portable
from symlib.data.digests import digest

F64 = torch.float64


def ulps(a: Tensor, b: Tensor) -> Tensor:
    """|a − b| in units of the last place of b."""
    return (a - b).abs() / (torch.nextafter(b.abs(), torch.tensor(math.inf, dtype=F64)) - b.abs())


def test_log_is_within_a_few_ulps_of_the_c_library_over_the_whole_range() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.exp(torch.rand(200_000, generator=g, dtype=F64) * 1400 - 700),
                   1 + (torch.rand(100_000, generator=g, dtype=F64) - 0.5) * 1e-3,     # near 1
                   torch.rand(100_000, generator=g, dtype=F64)])
    assert float(ulps(portable.log(x), torch.log(x)).max()) <= 4
    assert portable.log(torch.tensor([1.0, 2.0], dtype=F64)).tolist() == [0.0, math.log(2)]


def test_log_rejects_what_it_cannot_compute() -> None:
    with pytest.raises(ValueError, match="positive, finite"):
        portable.log(torch.tensor([1.0, 0.0], dtype=F64))
    with pytest.raises(ValueError, match="positive, finite"):
        portable.log(torch.tensor([math.inf], dtype=F64))
    with pytest.raises(TypeError, match="float64"):
        portable.log(torch.tensor([1.0]))


def test_sincos_is_accurate_and_refuses_angles_beyond_exact_reduction() -> None:
    x = (torch.rand(100_000, generator=torch.Generator().manual_seed(1), dtype=F64) - 0.5) * 200
    s, c = portable.sincos(x)
    assert float((s - torch.sin(x)).abs().max()) < 3e-16 and float((c - torch.cos(x)).abs().max()) < 3e-16
    s, c = portable.sincos(torch.tensor([0.0, math.pi / 2, math.pi], dtype=F64))
    assert s[0] == 0 and c[0] == 1 and abs(float(c[1])) < 1e-16 and abs(float(s[2])) < 2e-16
    with pytest.raises(ValueError, match="exact range reduction"):
        portable.sincos(torch.tensor([1e6], dtype=F64))


def test_randn_is_standard_normal_on_a_million_draws() -> None:
    z = portable.randn(1_000_000, generator=torch.Generator().manual_seed(0), dtype=F64)
    n = len(z)
    moments = [float(z.mean()), float(z.var()), float(z.pow(3).mean()), float(z.pow(4).mean())]
    # standard errors of the sample moments of N(0, 1): √(1/n), √(2/n), √(15/n), √(96/n)
    for value, expected, var in zip(moments, [0, 1, 0, 3], [1, 2, 15, 96]):
        assert abs(value - expected) < 4 * math.sqrt(var / n), (moments, expected)
    ks = stats.kstest(z.numpy(), "norm")
    assert ks.pvalue > 0.01, ks                      # a fixed seed: a fixed statistic, not a flaky test


def test_randn_shapes_dtypes_and_streams() -> None:
    g = torch.Generator().manual_seed(3)
    a = portable.randn(4, 5, generator=g, dtype=F64)
    assert a.shape == (4, 5) and a.dtype == F64
    assert portable.randn((4, 5), generator=torch.Generator().manual_seed(3), dtype=F64).equal(a)
    assert not portable.randn(4, 5, generator=g, dtype=F64).equal(a)          # the stream moved on
    b = portable.randn(7, generator=torch.Generator().manual_seed(3), dtype=torch.float32)
    assert b.dtype == torch.float32 and b.equal(a.flatten()[:7].float())         # cast, correctly rounded
    assert portable.randn(0, 3).shape == (0, 3) and portable.randn(2).dtype == torch.get_default_dtype()
    with pytest.raises(TypeError, match="floating-point"):
        portable.randn(3, dtype=torch.int64)
    with pytest.raises(ValueError, match="non-negative ints"):
        portable.randn(-1)


def test_rotations_are_rotations_and_haar_distributed() -> None:
    r = portable.rotations(20_000, torch.Generator().manual_seed(2))
    eye = torch.eye(3, dtype=F64)
    assert float((r @ r.mT - eye).abs().max()) < 1e-14
    assert float((torch.linalg.det(r) - 1).abs().max()) < 1e-14
    # Haar on SO(3): E[R] = 0, E[tr(R)²] = 1, and R e is uniform on the sphere (E[v vᵀ] = I/3)
    assert float(r.mean(0).abs().max()) < 0.03
    assert abs(float(torch.diagonal(r, dim1=1, dim2=2).sum(1).square().mean()) - 1) < 0.05
    v = r[:, :, 0]
    assert float((v.T @ v / len(v) - eye / 3).abs().max()) < 0.02
    with pytest.raises(ValueError, match="non-negative int"):
        portable.rotations(-1)


def test_rotations_from_uniforms_are_haar_distributed_and_traceable() -> None:
    u = torch.rand(20_000, 3, generator=torch.Generator().manual_seed(3), dtype=F64)
    r = portable.rotations_from_uniform(u)
    eye = torch.eye(3, dtype=F64)
    assert float((r @ r.mT - eye).abs().max()) < 1e-14
    assert float((torch.linalg.det(r) - 1).abs().max()) < 1e-14
    assert float(r.mean(0).abs().max()) < 0.03                                       # the Haar moments
    assert abs(float(torch.diagonal(r, dim1=1, dim2=2).sum(1).square().mean()) - 1) < 0.05
    v = r[:, :, 0]
    assert float((v.T @ v / len(v) - eye / 3).abs().max()) < 0.02
    # no host synchronisation: it runs under vmap, each slice its own matrices
    batched = torch.func.vmap(portable.rotations_from_uniform)(u.view(4, -1, 3))
    assert torch.equal(batched.reshape(-1, 3, 3), r)
    with pytest.raises(TypeError, match="float64"):
        portable.rotations_from_uniform(u.float())
    with pytest.raises(ValueError, match=r"\[\.\.\., 3\]"):
        portable.rotations_from_uniform(u[:, :2])


def test_rotate_is_the_matrix_product_up_to_rounding() -> None:
    g = torch.Generator().manual_seed(4)
    x, r = portable.randn(10, 7, 3, generator=g, dtype=F64), portable.rotations(10, g)
    assert torch.allclose(portable.rotate(x, r[:, None]), x @ r.mT, atol=1e-14, rtol=0)
    assert torch.allclose(portable.norm3(x), x.norm(dim=-1), atol=1e-14, rtol=0)
    with pytest.raises(ValueError, match=r"\[\.\.\., 3\]"):
        portable.rotate(torch.zeros(2, 4), r)


def test_the_same_bits_with_torch_portable_kernels() -> None:
    """Every sampler and function, computed here with this CPU's kernels and in a subprocess with
    ``ATEN_CPU_CAPABILITY=default`` (torch's scalar kernels), gives the same digest."""
    code = ("import torch; from symlib import portable as p; from symlib.data.digests import digest;"
            "g = torch.Generator().manual_seed(5); z = p.randn(10_000, generator=g, dtype=torch.float64);"
            "print(digest(z, p.rotations(500, g), p.log(z.abs() + 1e-3), *p.sincos(z * 30),"
            "p.rotations_from_uniform(z[:3000].view(-1, 3).abs() % 1)))")
    here = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    portable_kernels = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                      check=True, env={**os.environ, "ATEN_CPU_CAPABILITY": "default"}).stdout
    g = torch.Generator().manual_seed(5)
    z = portable.randn(10_000, generator=g, dtype=F64)
    mine = digest(z, portable.rotations(500, g), portable.log(z.abs() + 1e-3), *portable.sincos(z * 30),
                  portable.rotations_from_uniform(z[:3000].view(-1, 3).abs() % 1))
    assert here.strip() == portable_kernels.strip() == mine


def _true_log(x: float) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 120
        return Decimal(x).ln()


def test_correctly_rounded_exp_is_the_nearest_double() -> None:
    for x in [-0.125 * k * k for k in range(9)] + [1e-10, -700.0, 3.7]:
        mine = portable.correctly_rounded("exp", x)
        with localcontext() as ctx:
            ctx.prec = 120
            truth = Decimal(x).exp()
        for neighbour in (math.nextafter(mine, 0), math.nextafter(mine, math.inf)):
            assert abs(Decimal(mine) - truth) <= abs(Decimal(neighbour) - truth)
    with pytest.raises(ValueError, match="'ln' or 'exp'"):
        portable.correctly_rounded("sin", 1.0)


def test_correctly_rounded_log_is_never_farther_than_the_c_library() -> None:
    rng = np.random.RandomState(0)
    for x in rng.random_sample(20_000).tolist() + [1e-300, 0.5, 1 - 2**-53]:
        mine, libm, truth = portable.correctly_rounded("ln", x), math.log(x), _true_log(x)
        assert abs(Decimal(mine) - truth) <= abs(Decimal(libm) - truth)
        # and it is the double nearest to the truth
        for neighbour in (math.nextafter(mine, 0), math.nextafter(mine, -math.inf)):
            assert abs(Decimal(mine) - truth) <= abs(Decimal(neighbour) - truth)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
@pytest.mark.parametrize("count", [0, 1, 2, 5, 734, 735, 1470])
def test_legacy_replay_follows_numpys_stream_draw_for_draw(start: int, count: int) -> None:
    """legacy_randn and legacy_skip leave the generator exactly where ``randn`` would, including
    numpy's kept second value; the values equal numpy's up to the C library's rounding of ``log``."""
    numpy_rng, replay = np.random.RandomState(7), np.random.RandomState(7)
    first, mine = numpy_rng.randn(start), portable.legacy_randn(replay, start)
    numpy_rng.randn(count)
    portable.legacy_skip(replay, count)
    then, mine_then = numpy_rng.randn(9), portable.legacy_randn(replay, 9)
    assert mine.shape == first.shape and mine_then.shape == (9,)
    np.testing.assert_allclose(np.concatenate([mine, mine_then]), np.concatenate([first, then]),
                               rtol=4e-16, atol=0)
    assert numpy_rng.random_sample() == replay.random_sample()
