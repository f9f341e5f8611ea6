"""Tests for symlib.config: scales, seeding, device choice, progress bars.

``seed_everything`` changes process-wide state (RNG streams, torch's deterministic mode, cuDNN and
TF32 flags); the autouse fixture below restores all of it, so these tests leave nothing behind for
the rest of the suite.
"""

from __future__ import annotations

import os
import random
import re

import numpy as np
import pytest
import torch

from symlib.config import (
    SCALES,
    Setup,
    check_scale,
    default_device,
    progress_enabled,
    seed_everything,
    setup,
)

#: draws per stream when comparing two seeded runs
DRAWS = 5


@pytest.fixture(autouse=True)
def restore_global_state():
    """Undo seed_everything's process-wide changes after each test."""
    saved = dict(
        deterministic=torch.are_deterministic_algorithms_enabled(),
        warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        benchmark=torch.backends.cudnn.benchmark,
        cudnn_deterministic=torch.backends.cudnn.deterministic,
        matmul_tf32=torch.backends.cuda.matmul.allow_tf32,
        cudnn_tf32=torch.backends.cudnn.allow_tf32,
        torch_rng=torch.get_rng_state(),
        numpy_rng=np.random.get_state(),
        python_rng=random.getstate(),
        cublas=os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
    )
    yield
    if saved["cublas"] is None:
        os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    else:
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = saved["cublas"]
    torch.use_deterministic_algorithms(saved["deterministic"], warn_only=saved["warn_only"])
    torch.backends.cudnn.benchmark = saved["benchmark"]
    torch.backends.cudnn.deterministic = saved["cudnn_deterministic"]
    torch.backends.cuda.matmul.allow_tf32 = saved["matmul_tf32"]
    torch.backends.cudnn.allow_tf32 = saved["cudnn_tf32"]
    torch.set_rng_state(saved["torch_rng"])
    np.random.set_state(saved["numpy_rng"])
    random.setstate(saved["python_rng"])


def draws() -> tuple[list[float], list[float], list[float]]:
    """DRAWS numbers from each global stream: torch, NumPy, Python."""
    return (torch.rand(DRAWS).tolist(), np.random.rand(DRAWS).tolist(),
            [random.random() for _ in range(DRAWS)])


# --------------------------------------------------------------------------------------------------
# scales


@pytest.mark.parametrize(("scale", "expected"), [("ci", 300), ("full", 20_000)])
def test_setup_picks_the_budget_of_its_scale(scale: str, expected: int) -> None:
    s = setup(scale, device="cpu", deterministic=False)
    assert isinstance(s, Setup) and s.scale == scale
    assert s.pick(ci=300, full=20_000) == expected
    assert s.pick(ci="small", full="large") == ("small" if scale == "ci" else "large")


def test_setup_defaults() -> None:
    s = setup(deterministic=False)
    assert (s.scale, s.seed, s.device) == ("ci", 0, default_device())
    assert str(setup("full", seed=3, device="cpu", deterministic=False)) == "scale=full device=cpu seed=3"


def test_pick_takes_keywords_only() -> None:
    s = setup("ci", device="cpu", deterministic=False)
    with pytest.raises(TypeError):
        s.pick(1, 2)  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["CI", "small", "", "fulll"])
def test_unknown_scale_raises_naming_valid_scales(bad: str) -> None:
    expected = re.escape(f"unknown scale {bad!r}: expected one of 'ci', 'full'")
    with pytest.raises(ValueError, match=expected):
        setup(bad)
    with pytest.raises(ValueError, match=expected):
        check_scale(bad)
    assert SCALES == ("ci", "full")
    assert [check_scale(s) for s in SCALES] == ["ci", "full"]


def test_unknown_scale_is_rejected_before_seeding() -> None:
    before = torch.get_rng_state()
    with pytest.raises(ValueError):
        setup("huge", seed=5)
    assert torch.equal(torch.get_rng_state(), before)


# --------------------------------------------------------------------------------------------------
# seeding


@pytest.mark.parametrize("seed", [0, 1, 2**32 + 7])  # above 2**32: numpy's seed is reduced modulo 2**32
def test_seed_everything_repeats_every_stream(seed: int) -> None:
    gen = seed_everything(seed, deterministic=False)
    first, first_gen = draws(), torch.rand(DRAWS, generator=gen).tolist()
    gen = seed_everything(seed, deterministic=False)
    second, second_gen = draws(), torch.rand(DRAWS, generator=gen).tolist()
    assert first == second and first_gen == second_gen
    assert isinstance(gen, torch.Generator) and gen.initial_seed() == seed


def test_different_seeds_give_different_draws() -> None:
    seed_everything(0, deterministic=False)
    a = draws()
    seed_everything(1, deterministic=False)
    b = draws()
    assert all(x != y for x, y in zip(a, b))


def test_setup_seeds_like_seed_everything() -> None:
    setup("ci", seed=11, device="cpu", deterministic=False)
    a = draws()
    seed_everything(11, deterministic=False)
    assert draws() == a


def test_deterministic_mode_flags() -> None:
    seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


@pytest.mark.parametrize("bad", [-1, True, False, 1.0, "0", None], ids=repr)
def test_bad_seeds_are_rejected(bad) -> None:
    with pytest.raises(ValueError, match=re.escape(f"seed must be a non-negative int, got {bad!r}")):
        seed_everything(bad)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        setup("ci", seed=bad)


# --------------------------------------------------------------------------------------------------
# devices


def test_default_device_is_the_best_available() -> None:
    mps = getattr(torch.backends, "mps", None)
    if torch.cuda.is_available():
        expected = "cuda"
    elif mps is not None and mps.is_available():
        expected = "mps"
    else:
        expected = "cpu"
    assert default_device() == torch.device(expected)


def test_default_device_without_accelerators_is_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if getattr(torch.backends, "mps", None) is not None:
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert default_device() == torch.device("cpu")


def test_default_device_prefers_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == torch.device("cuda")


def test_setup_can_force_a_device() -> None:
    assert setup("ci", device="cpu", deterministic=False).device == torch.device("cpu")
    assert setup("ci", device=torch.device("cpu"), deterministic=False).device == torch.device("cpu")


# --------------------------------------------------------------------------------------------------
# progress bars


def test_conftest_disables_progress_bars() -> None:
    assert os.environ.get("SYMLIB_PROGRESS") == "0"
    assert not progress_enabled()


@pytest.mark.parametrize(("value", "enabled"), [("0", False), ("1", True), ("", True), ("yes", True)])
def test_progress_enabled_respects_the_environment(monkeypatch: pytest.MonkeyPatch, value: str,
                                                   enabled: bool) -> None:
    monkeypatch.setenv("SYMLIB_PROGRESS", value)
    assert progress_enabled() is enabled


def test_progress_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYMLIB_PROGRESS")
    assert progress_enabled()


def test_conftest_loads_the_hypothesis_profile() -> None:
    from hypothesis import settings

    assert settings.get_current_profile_name() == "symlib"
    assert settings.default.deadline is None and settings.default.derandomize
