"""symlib.train.fit across two processes (torchrun, gloo on CPU): the same result as one process on
the same global batch, and checkpoint/resume still exact."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from symlib.train import fit

from ddp_problem import loss_fn, make_data, make_model

WORKER = Path(__file__).with_name("ddp_worker.py")


def _torchrun(tmp_path: Path, name: str, steps: int, checkpoint: Path | None = None) -> dict:
    out = tmp_path / f"{name}.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SYMLIB_PROGRESS": "0"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(WORKER), str(out), str(steps)] + ([str(checkpoint)] if checkpoint else [])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out, weights_only=True)


@pytest.fixture(scope="module")
def single() -> tuple[dict, list[float]]:
    model = make_model()
    history = fit(model, loss_fn, make_data(), steps=20, batch_size=16, lr=1e-2, seed=3, device="cpu",
                  progress=False)
    return model.state_dict(), history.loss


@pytest.fixture(scope="module")
def ddp(tmp_path_factory) -> dict:
    return _torchrun(tmp_path_factory.mktemp("ddp"), "ddp", 20)


def test_two_processes_follow_the_single_process_run(ddp, single) -> None:
    weights, losses = single
    assert ddp["world"] == 2
    assert torch.allclose(torch.tensor(ddp["loss"]), torch.tensor(losses), rtol=1e-10, atol=0)
    for k, v in weights.items():
        assert torch.allclose(ddp["model"][k], v, rtol=1e-10, atol=1e-12), k


def test_distributed_checkpoint_resume_is_exact(tmp_path, ddp) -> None:
    ckpt, whole = tmp_path / "run.pt", ddp
    _torchrun(tmp_path, "first", 10, ckpt)           # stops at step 10, checkpoint written by rank 0
    resumed = _torchrun(tmp_path, "resumed", 20, ckpt)
    assert resumed["loss"] == whole["loss"]
    for k, v in whole["model"].items():
        assert torch.equal(resumed["model"][k], v), k


def test_distributed_without_a_process_group_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(RuntimeError, match="launch with torchrun"):
        fit(make_model(), loss_fn, make_data(), steps=1, batch_size=16, distributed=True, progress=False)
