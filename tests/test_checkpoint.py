"""symlib.checkpoint on its own: atomic saves, weights-only loads, clear errors, exact RNG restore."""

from __future__ import annotations

import pickle

import pytest
import torch
from torch import nn

from symlib import checkpoint


def _model(width: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(width, 2)


def test_save_then_load_restores_weights_optimizer_and_rng(tmp_path) -> None:
    model = _model()
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    history = {"step": [1], "loss": [0.5], "evals": []}
    path = tmp_path / "sub" / "run.pt"                   # the directory is created
    checkpoint.save(path, checkpoint.snapshot(1, model, opt, history))
    expected = torch.rand(4)                            # what the RNG draws next after the save

    other = nn.Linear(3, 2)
    other_opt = torch.optim.AdamW(other.parameters(), lr=0.1)
    torch.manual_seed(123)
    state = checkpoint.load(path, other)
    assert state["step"] == 1 and state["history"] == history
    for k, v in model.state_dict().items():
        assert torch.equal(other.state_dict()[k], v), k
    checkpoint.resume(state, other_opt)
    assert other_opt.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    assert torch.equal(torch.rand(4), expected)
    assert [p.name for p in path.parent.iterdir()] == ["run.pt"]


def test_failed_save_leaves_no_temp_file_and_the_old_checkpoint(tmp_path) -> None:
    path = tmp_path / "run.pt"
    checkpoint.save(path, {"step": 1})
    with pytest.raises((pickle.PicklingError, AttributeError)):  # a lambda: which one depends on Python
        checkpoint.save(path, {"step": 2, "unpicklable": lambda: None})
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]
    assert torch.load(path, weights_only=True) == {"step": 1}


def test_mismatched_model_names_the_file(tmp_path) -> None:
    model = _model()
    path = tmp_path / "ck.pt"
    checkpoint.save(path, checkpoint.snapshot(0, model, torch.optim.SGD(model.parameters(), lr=0.1),
                                              {"step": [], "loss": [], "evals": []}))
    with pytest.raises(RuntimeError, match=r"checkpoint '.*ck\.pt' does not match the model: "):
        checkpoint.load(path, _model(width=4))


def test_rng_state_round_trips() -> None:
    saved = checkpoint.rng_state()
    first = torch.randn(3)
    checkpoint.set_rng_state(saved)
    assert torch.equal(torch.randn(3), first)
