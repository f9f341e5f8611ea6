"""symlib.seeds: K seeds trained as one batched model equal K separate symlib.train.train runs, up to
rounding (float64 here, so the comparison is tight), for four model families: an MLP, a Conv1d CNN
with gradient clipping, a p4 G-CNN with batch norm (whose statistics depend on each seed's batch,
running statistics included), and the EGNN of the N-body chapters (several inputs)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from symlib.data import nbody
from symlib.layers.egnn import EGNN, CoordinateGNN
from symlib.layers.gconv import GCNN
from symlib.layers.mnist1d import cnn
from symlib.seeds import Runs, train_seeds
from symlib.train import NonFiniteLossError, train

from helpers import assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
F64 = torch.float64
SEEDS = [0, 1, 2]


def _classify(m, b):
    return F.cross_entropy(m(b[0]), b[1])


def _signals() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    return TensorDataset(torch.rand(120, 40, generator=g, dtype=F64), torch.randint(10, (120,), generator=g))


def _images() -> TensorDataset:
    g = torch.Generator().manual_seed(1)
    images = torch.rand(60, 1, 8, 8, generator=g, dtype=F64)
    return TensorDataset(images, torch.randint(10, (60,), generator=g))


def _systems() -> TensorDataset:
    return TensorDataset(*[t.double() for t in nbody.generate(60, seed=1).dataset().tensors])


FAMILIES = {
    "mlp": (lambda: nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Linear(32, 10)).double(), _classify,
            _signals, {}),
    "cnn, clipped": (lambda: cnn().double(), _classify, _signals, {"clip_grad": 0.5}),
    "p4 G-CNN, batch norm": (lambda: GCNN(1, 10, [4, 4], group="p4").double(), _classify, _images,
                             {"weight_decay": 0.01}),
    "EGNN": (lambda: EGNN(16, 2).double(), nbody.loss, _systems, {"lr": 3e-3}),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_seeds_equal_separate_runs(family: str) -> None:
    make, loss_fn, data_fn, extra = FAMILIES[family]
    data = data_fn()
    probe = data.tensors[0][:8]
    evaluate = (None if family == "EGNN" else
                lambda m: {"probe": float(m(probe).detach().square().mean())})
    settings = dict(steps=25, batch_size=20, eval_every=10, device="cpu", progress=False, **extra)
    batched = None if evaluate is None else lambda m, seed: evaluate(m)
    runs = train_seeds(make, loss_fn, data, SEEDS, evaluate=batched, **settings)
    for seed, model, history in zip(SEEDS, runs.models, runs.histories):
        alone, alone_history = train(make, loss_fn, data, seed=seed, evaluate=evaluate, **settings)
        for (name, ours), theirs in zip(model.state_dict().items(), alone.state_dict().values()):
            if ours.is_floating_point():
                assert_matches(ours, theirs, factor=100)      # 25 steps of Adam: rounding compounds
            else:
                assert torch.equal(ours, theirs), name         # batch norm's step counter
        assert history.step == alone_history.step
        assert history.loss == pytest.approx(alone_history.loss, rel=1e-10)
        assert [r["step"] for r in history.evals] == [r["step"] for r in alone_history.evals]
        for ours, theirs in zip(history.evals, alone_history.evals):
            assert ours == pytest.approx(theirs, rel=1e-10)


def test_each_seed_may_have_its_own_training_set() -> None:
    """As chapter 11 trains: seed s on its own data; equal to train() on that seed's data alone."""
    make, loss_fn, _, _ = FAMILIES["cnn, clipped"]
    g = torch.Generator().manual_seed(3)
    own = [TensorDataset(torch.rand(60, 40, generator=g, dtype=F64), torch.randint(10, (60,), generator=g))
           for _ in SEEDS]
    settings = dict(steps=12, batch_size=16, clip_grad=0.5, progress=False)
    runs = train_seeds(make, loss_fn, own, SEEDS, **settings)
    for seed, data, model in zip(SEEDS, own, runs.models):
        alone, _ = train(make, loss_fn, data, seed=seed, **settings)
        for ours, theirs in zip(model.parameters(), alone.parameters()):
            assert_matches(ours, theirs, factor=100)
    with pytest.raises(ValueError, match="equal shapes"):
        train_seeds(make, loss_fn, [own[0], own[1], TensorDataset(*[t[:50] for t in own[2].tensors])], SEEDS,
                    steps=2, batch_size=4)
    with pytest.raises(TypeError, match="one TensorDataset per seed"):
        train_seeds(make, loss_fn, own[:2], SEEDS, steps=2, batch_size=4)


def test_augmentation_inside_the_loss_traces_and_draws_per_seed() -> None:
    """nbody.rotated_loss under vmap: for the EGNN (equivariant) the rotations change nothing but
    rounding, so the runs equal unaugmented ones; for the coordinate GNN they change the training."""
    data = _systems()
    settings = dict(steps=6, batch_size=20, lr=3e-3, device="cpu", progress=False)
    plain = train_seeds(lambda: EGNN(16, 2).double(), nbody.loss, data, SEEDS, **settings)
    turned = train_seeds(lambda: EGNN(16, 2).double(), nbody.rotated_loss, data, SEEDS, **settings)
    for a, b in zip(plain.histories, turned.histories):
        assert b.loss == pytest.approx(a.loss, rel=1e-9)
    def make() -> nn.Module:
        return CoordinateGNN(16, 2).double()

    plain = train_seeds(make, nbody.loss, data, SEEDS, **settings)
    turned = train_seeds(make, nbody.rotated_loss, data, SEEDS, **settings)
    assert all(a.loss[0] != b.loss[0] for a, b in zip(plain.histories, turned.histories))


def test_an_interrupted_batched_run_resumes_bitwise(tmp_path) -> None:
    """Stopped after 10 steps and started again with 14, the run equals one of 14 uninterrupted steps,
    bit for bit: weights, optimizer, data order, histories and the augmentation's random draws."""
    data = _systems()
    settings = dict(batch_size=20, lr=3e-3, device="cpu", progress=False, eval_every=5,
                    evaluate=lambda m, seed: {"w": float(m.embed.weight.detach().sum())})

    def make() -> nn.Module:
        return CoordinateGNN(16, 2).double()

    whole = train_seeds(make, nbody.rotated_loss, data, SEEDS, steps=14, **settings)
    path = tmp_path / "seeds.pt"
    train_seeds(make, nbody.rotated_loss, data, SEEDS, steps=10, checkpoint=path, checkpoint_every=4,
                **settings)                                  # saved at 4, 8 and 10 (its last step)
    state = torch.load(path, weights_only=True)
    assert state["step"] == 10 and state["seeds"] == SEEDS
    resumed = train_seeds(make, nbody.rotated_loss, data, SEEDS, steps=14, checkpoint=path, **settings)
    for a, b in zip(whole.models, resumed.models):
        for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), name
    for a, b in zip(whole.histories, resumed.histories):
        assert a.step == b.step and a.loss == b.loss and a.evals == b.evals
    assert torch.load(path, weights_only=True)["step"] == 14
    with pytest.raises(ValueError, match="holds seeds"):
        train_seeds(make, nbody.rotated_loss, data, [0, 1], steps=16, checkpoint=path, **settings)


def test_full_batch_training_equals_separate_runs_up_to_rounding() -> None:
    """batch_size = the whole dataset: no per-step permutation or copy; fit's permuted order sums
    the same losses in another order, so the runs agree to rounding."""
    make, loss_fn, data_fn, _ = FAMILIES["mlp"]
    data = data_fn()
    settings = dict(steps=15, batch_size=len(data), progress=False)
    runs = train_seeds(make, loss_fn, data, SEEDS, **settings)
    for seed, model, history in zip(SEEDS, runs.models, runs.histories):
        alone, alone_history = train(make, loss_fn, data, seed=seed, **settings)
        for ours, theirs in zip(model.parameters(), alone.parameters()):
            assert_matches(ours, theirs, factor=1000)
        assert history.loss == pytest.approx(alone_history.loss, rel=1e-12)


def test_runs_estimate_over_seeds() -> None:
    make, loss_fn, data_fn, _ = FAMILIES["mlp"]
    data = data_fn()
    runs = train_seeds(make, loss_fn, data, [3, 4, 5, 6], steps=12, batch_size=30, progress=False,
                       evaluate=lambda m, seed: {"a": 1.0 + m[0].bias[0].item(), "b": m[0].bias[1].item(),
                                                 "seed": seed},
                       eval_every=4)
    assert isinstance(runs, Runs) and runs.seeds == [3, 4, 5, 6] and len(runs.models) == 4
    assert runs.estimate().values == tuple(h.loss[-1] for h in runs.histories)
    assert runs.estimate("a").n == 4 and runs.estimate("seed").values == (3, 4, 5, 6)
    assert runs.estimate("a", by="b").values == tuple(h.best("a", by="b") for h in runs.histories)


def test_bad_requests_are_named() -> None:
    make, loss_fn, data_fn, _ = FAMILIES["mlp"]
    data = data_fn()
    with pytest.raises(ValueError, match="distinct"):
        train_seeds(make, loss_fn, data, [1, 1], steps=2, batch_size=4)
    with pytest.raises(ValueError, match="distinct"):
        train_seeds(make, loss_fn, data, [], steps=2, batch_size=4)
    with pytest.raises(TypeError, match="TensorDataset"):
        train_seeds(make, loss_fn, list(data), [0, 1], steps=2, batch_size=4)
    with pytest.raises(TypeError, match="function that builds"):
        train_seeds(make(), loss_fn, data, [0, 1], steps=2, batch_size=4)
    with pytest.raises(ValueError, match="steps"):
        train_seeds(make, loss_fn, data, [0, 1], steps=0, batch_size=4)

    def explodes(m, b):                    # seed 1's model has a nan weight from the start
        return _classify(m, b) + m(b[0]).sum() * 0

    def make_bad():
        model = make()
        if torch.initial_seed() == 1:
            with torch.no_grad():
                model[0].weight[0, 0] = math.nan
        return model
    with pytest.raises(NonFiniteLossError, match="seed 1 at step 1"):
        train_seeds(make_bad, explodes, data, [0, 1], steps=3, batch_size=4, progress=False)


def test_compiled_batched_seeds_equal_uncompiled() -> None:
    """``compile=True`` compiles the vmapped loss: the same training, up to the rounding of fused
    kernels (float64), for the EGNN (the N-body reproduction's model: several inputs)."""
    make, loss_fn, data_fn, extra = FAMILIES["EGNN"]
    settings = dict(steps=6, batch_size=20, device="cpu", progress=False, **extra)
    plain = train_seeds(make, loss_fn, data_fn(), SEEDS, **settings)
    compiled = train_seeds(make, loss_fn, data_fn(), SEEDS, compile=True, **settings)
    for ours, theirs in zip(compiled.models, plain.models):
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
            assert_matches(a, b, factor=100)
    for ours, theirs in zip(compiled.histories, plain.histories):
        assert ours.loss == pytest.approx(theirs.loss, rel=1e-10)
