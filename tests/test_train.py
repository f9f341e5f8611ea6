"""Tests for symlib.train.fit: learning, exact resume, checkpoints, guards, graphs, devices."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset
from torch_geometric.data import Data
from torch_geometric.nn import global_mean_pool

from symlib.train import History, NonFiniteLossError, fit, to_device


def regression_data(n: int = 64, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1
    return TensorDataset(x, y)


def mlp(dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(123)
    return nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Dropout(dropout), nn.Linear(16, 1))


def mse(model: nn.Module, batch) -> torch.Tensor:
    x, y = batch
    return F.mse_loss(model(x), y)


COMMON = dict(batch_size=12, device="cpu", progress=False)  # 64 // 12 = 5 batches per epoch


def test_regression_learns_and_records() -> None:
    data = regression_data()
    model = mlp()
    calls: list[tuple[int, float]] = []
    eval_modes: list[bool] = []

    def evaluate(m: nn.Module) -> dict[str, float]:
        eval_modes.append(m.training)
        with torch.no_grad():
            return {"mse": F.mse_loss(m(data.tensors[0]), data.tensors[1]).item()}

    model.eval()
    hist = fit(model, mse, data, steps=23, lr=1e-2, evaluate=evaluate, eval_every=10,
               callback=lambda step, loss: calls.append((step, loss)), **COMMON)
    assert isinstance(hist, History)
    assert hist.step == list(range(1, 24))
    assert len(hist.loss) == 23 and all(isinstance(v, float) for v in hist.loss)
    assert [e["step"] for e in hist.evals] == [10, 20, 23]
    assert eval_modes == [False, False, False]
    assert not model.training  # caller's mode restored
    assert calls == list(zip(hist.step, hist.loss))
    assert sum(hist.loss[-5:]) < 0.5 * sum(hist.loss[:5])
    assert hist.evals[-1]["mse"] < hist.evals[0]["mse"]
    assert hist.final() == hist.loss[-1]
    assert hist.final("mse") == hist.evals[-1]["mse"]
    with pytest.raises(KeyError, match="acc"):
        hist.final("acc")


def test_batch_size_capped_and_constant() -> None:
    data = regression_data(n=10)
    sizes: list[int] = []

    def loss_fn(model, batch):
        sizes.append(batch[0].shape[0])
        return mse(model, batch)

    fit(mlp(), loss_fn, data, steps=3, batch_size=100, device="cpu", progress=False)
    sizes_big = sizes[:]
    sizes.clear()
    fit(mlp(), loss_fn, data, steps=6, batch_size=4, device="cpu", progress=False)
    assert sizes_big == [10, 10, 10]
    assert sizes == [4] * 6  # last incomplete batch of each epoch dropped


def test_epoch_covers_data_without_repeats() -> None:
    data = TensorDataset(torch.arange(20.0).unsqueeze(1))
    seen: list[list[float]] = []

    def loss_fn(model, batch):
        seen.append(batch[0].squeeze(1).tolist())
        return model(batch[0]).sum() * 0

    fit(nn.Linear(1, 1), loss_fn, data, steps=8, batch_size=5, device="cpu", progress=False)
    for epoch in (seen[:4], seen[4:]):
        assert sorted(v for b in epoch for v in b) == [float(i) for i in range(20)]
    assert seen[:4] != seen[4:]  # fresh order each epoch


def test_unshuffled_batches_are_slices_in_order() -> None:
    """``shuffle=False``: batch ``b`` of every epoch is items ``b·B .. (b+1)·B − 1``, as a loop that
    slices the data takes them (the MNIST-1D authors' ``x[bix:bix + B]``)."""
    data = TensorDataset(torch.arange(20.0).unsqueeze(1))
    seen: list[list[float]] = []

    def loss_fn(model, batch):
        seen.append(batch[0].squeeze(1).tolist())
        return model(batch[0]).sum() * 0

    fit(nn.Linear(1, 1), loss_fn, data, steps=6, batch_size=5, device="cpu", progress=False, shuffle=False)
    assert seen == [[float(v) for v in range(5 * (b % 4), 5 * (b % 4) + 5)] for b in range(6)]


def test_exact_resume_after_interrupt(tmp_path) -> None:
    data = regression_data()
    kw = dict(steps=20, lr=1e-2, seed=7, checkpoint_every=5, eval_every=4, **COMMON)

    def evaluate(m: nn.Module) -> dict[str, float]:
        return {"w": m[0].weight.sum().item(), "noise": torch.rand(()).item()}  # consumes the RNG too

    ref = mlp(dropout=0.3)
    ref_hist = fit(ref, mse, data, checkpoint=tmp_path / "ref.pt", evaluate=evaluate, **kw)

    def interrupt(step: int, loss: float) -> None:
        if step == 12:
            raise KeyboardInterrupt

    path = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        fit(mlp(dropout=0.3), mse, data, checkpoint=path, evaluate=evaluate, callback=interrupt, **kw)
    assert torch.load(path, weights_only=True)["step"] == 10
    torch.manual_seed(999)  # a resumed run must not depend on the caller's RNG state
    model = mlp(dropout=0.3)
    hist = fit(model, mse, data, checkpoint=path, evaluate=evaluate, **kw)

    assert hist == ref_hist
    for a, b in zip(ref.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    # Without RNG restoration the dropout masks would differ: check the test can tell.
    other = mlp(dropout=0.3)
    other_hist = fit(other, mse, data, seed=8, **{k: v for k, v in kw.items() if k != "seed"})
    assert other_hist.loss != ref_hist.loss


def test_checkpoint_is_weights_only_and_finished_run_returns(tmp_path) -> None:
    path = tmp_path / "sub" / "ck.pt"
    model = mlp()
    hist = fit(model, mse, regression_data(), steps=6, checkpoint=path, **COMMON)
    state = torch.load(path, weights_only=True)
    assert set(state) == {"step", "model", "optimizer", "history", "rng_cpu", "rng_cuda"}
    assert state["step"] == 6 and History(**state["history"]) == hist
    assert not [p for p in path.parent.iterdir() if p.name != "ck.pt"]  # no temp files left

    calls: list[int] = []
    fresh = mlp()
    again = fit(fresh, mse, regression_data(), steps=6, checkpoint=path,
                callback=lambda step, _loss: calls.append(step), **COMMON)
    assert again == hist and calls == []
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), fresh.state_dict().values()))

    again = fit(mlp(), mse, regression_data(), steps=6, checkpoint=path, resume=False, **COMMON)
    assert again == hist  # resume=False retrains from scratch, deterministically


def test_mismatched_checkpoint_names_file(tmp_path) -> None:
    path = tmp_path / "ck.pt"
    fit(mlp(), mse, regression_data(), steps=2, checkpoint=path, **COMMON)
    other = nn.Sequential(nn.Linear(3, 1))
    with pytest.raises(RuntimeError, match="ck.pt"):
        fit(other, mse, regression_data(), steps=4, checkpoint=path, **COMMON)


def test_nan_guard_names_step() -> None:
    model = mlp()
    calls = {"n": 0}

    def loss_fn(m, batch):
        calls["n"] += 1
        loss = mse(m, batch)
        return loss * float("nan") if calls["n"] == 3 else loss

    before: dict[str, torch.Tensor] = {}

    def snapshot(step: int, loss: float) -> None:
        before.update({k: v.clone() for k, v in model.state_dict().items()})

    with pytest.raises(NonFiniteLossError, match="step 3"):
        fit(model, loss_fn, regression_data(), steps=10, callback=snapshot, **COMMON)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # no step taken
    with pytest.raises(NonFiniteLossError, match="inf at step 1"):
        fit(mlp(), lambda m, b: mse(m, b) + float("inf"), regression_data(), steps=3, **COMMON)


def random_graphs(n: int = 12, seed: int = 0) -> list[Data]:
    g = torch.Generator().manual_seed(seed)
    graphs = []
    for i in range(n):
        nodes = 3 + i % 4
        x = torch.randn(nodes, 4, generator=g)
        edges = torch.randint(0, nodes, (2, 2 * nodes), generator=g)
        graphs.append(Data(x=x, edge_index=edges, y=x.sum().reshape(1, 1)))
    return graphs


class GraphNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, batch) -> torch.Tensor:
        return self.out(global_mean_pool(torch.relu(self.lin(batch.x)), batch.batch))


def test_torch_geometric_batches() -> None:
    graphs = random_graphs()
    seen: list[int] = []

    def loss_fn(model, batch):
        seen.append(batch.num_graphs)
        return F.mse_loss(model(batch), batch.y)

    torch.manual_seed(0)
    hist = fit(GraphNet(), loss_fn, graphs, steps=8, batch_size=4, lr=1e-2, device="cpu", progress=False)
    assert seen == [4] * 8
    assert len(hist.loss) == 8 and all(map(lambda v: v == v, hist.loss))


def test_to_device_structures() -> None:
    from collections import namedtuple

    Pair = namedtuple("Pair", "a b")
    t = torch.ones(2)
    out = to_device({"x": [t, (t, 3)], "p": Pair(t, "s")}, "cpu")
    assert isinstance(out["p"], Pair) and out["p"].b == "s"
    assert isinstance(out["x"][1], tuple) and out["x"][1][1] == 3
    assert to_device(random_graphs(1)[0], "cpu").num_nodes == 3


def test_progress_bar_runs_quietly(capsys) -> None:
    fit(mlp(), mse, regression_data(), steps=3, batch_size=8, device="cpu", progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(mlp(), mse, regression_data(), steps=12, batch_size=8, device="cpu", progress=True)


def test_amp_on_cpu_rejected() -> None:
    with pytest.raises(ValueError, match="amp"):
        fit(mlp(), mse, regression_data(), steps=1, amp=True, **COMMON)


@pytest.mark.parametrize("kwargs, error, pattern", [
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=-3), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(eval_every=-1), ValueError, "eval_every"),
    (dict(checkpoint_every=-1), ValueError, "checkpoint_every"),
    (dict(clip_grad=0.0), ValueError, "clip_grad"),
])
def test_bad_arguments(kwargs, error, pattern) -> None:
    args = dict(steps=2, batch_size=4, device="cpu", progress=False) | kwargs
    with pytest.raises(error, match=pattern):
        fit(mlp(), mse, regression_data(), **args)


def test_bad_data_and_loss() -> None:
    with pytest.raises(ValueError, match="empty"):
        fit(mlp(), mse, [], steps=1, **COMMON)
    with pytest.raises(ValueError, match=r"scalar tensor, got shape \(4,\)"):
        fit(mlp(), lambda m, b: (m(b[0]) - b[1]).pow(2).squeeze(1), regression_data(),
            steps=1, batch_size=4, device="cpu", progress=False)
    with pytest.raises(TypeError, match="scalar tensor"):
        fit(mlp(), lambda m, b: 1.0, regression_data(), steps=1, **COMMON)


def test_clip_grad_and_custom_optimizer() -> None:
    hist = fit(mlp(), mse, regression_data(), steps=5, clip_grad=1.0,
               optimizer=lambda p: torch.optim.SGD(p, lr=0.05), **COMMON)
    assert hist.loss[-1] < hist.loss[0]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_with_amp_and_resume(tmp_path) -> None:
    data = regression_data()
    kw = dict(steps=10, batch_size=12, lr=1e-2, device="cuda", progress=False, checkpoint_every=5)
    ref = mlp(dropout=0.3)
    ref_hist = fit(ref, mse, data, checkpoint=tmp_path / "ref.pt", **kw)
    assert next(ref.parameters()).device.type == "cuda"
    assert ref_hist.loss[-1] < ref_hist.loss[0]

    def interrupt(step: int, loss: float) -> None:
        if step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(mlp(dropout=0.3), mse, data, checkpoint=tmp_path / "run.pt", callback=interrupt, **kw)
    model = mlp(dropout=0.3)
    assert fit(model, mse, data, checkpoint=tmp_path / "run.pt", **kw) == ref_hist
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), model.state_dict().values()))
    fit(mlp(), mse, data, steps=3, batch_size=8, device="cuda", amp=True, progress=False)


def test_step_flops_counts_forward_and_backward_and_leaves_the_model_alone() -> None:
    """Linear after batch norm: 2·B·I·O forward, and 2·B·I·O each for the gradients of the weight and
    of the input (the input needs one, because batch norm has parameters)."""
    from symlib.train import step_flops

    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(5), nn.Linear(5, 3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(8, 5), torch.randn(8, 3)
    flops = step_flops(model, lambda m, b: nn.functional.mse_loss(m(b[0]), b[1]), (x, y))
    assert flops == 6 * 8 * 5 * 3
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_step_flops_can_count_every_other_operation_by_its_output() -> None:
    """``elementwise=True`` adds one per element every non-matrix operator outputs: a tanh after the
    linear layer adds its forward and its backward, B·O elements each; the matrix count is unchanged."""
    from symlib.train import step_flops

    torch.manual_seed(0)
    x, y = torch.randn(8, 5), torch.randn(8, 3)
    linear = nn.Linear(5, 3)
    counts = {}
    for name, model in (("linear", linear), ("tanh", nn.Sequential(linear, nn.Tanh()))):
        for every in (False, True):
            counts[name, every] = step_flops(model, mse, (x, y), elementwise=every)
    assert counts["linear", False] == counts["tanh", False] < counts["linear", True]
    assert counts["tanh", True] - counts["linear", True] == 2 * 8 * 3


def test_train_seeds_the_initial_weights_too() -> None:
    """train(make, ...) is a pure function of its seed: same seed, same weights and history; the
    global RNG state before the call does not matter."""
    from symlib.train import train

    def make() -> nn.Module:
        return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))

    torch.manual_seed(1)
    a, hist_a = train(make, mse, regression_data(), seed=5, steps=7, **COMMON)
    torch.manual_seed(2)
    b, hist_b = train(make, mse, regression_data(), seed=5, steps=7, **COMMON)
    _, hist_c = train(make, mse, regression_data(), seed=6, steps=7, **COMMON)
    assert hist_a == hist_b and hist_a != hist_c
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(TypeError, match="function that builds the model"):
        train(make(), mse, regression_data(), steps=1, **COMMON)
    with pytest.raises(TypeError, match="must return an nn.Module"):
        train(lambda: 3, mse, regression_data(), steps=1, **COMMON)


def test_history_answers_at_and_series() -> None:
    hist = History(step=[1, 2, 3], loss=[3.0, 2.0, 1.0],
                   evals=[{"step": 2, "test": 0.5}, {"step": 3, "test": 0.25, "acc": 0.9}])
    assert hist.at(3) == {"step": 3, "test": 0.25, "acc": 0.9}
    assert hist.series("test") == ([2, 3], [0.5, 0.25]) and hist.series("acc") == ([3], [0.9])
    assert hist.series("loss") == ([1, 2, 3], [3.0, 2.0, 1.0])
    assert hist.best("acc", by="test") == 0.9 and hist.best("test", by="test") == 0.25
    with pytest.raises(KeyError, match="both 'test' and 'valid'"):
        hist.best("test", by="valid")
    with pytest.raises(KeyError, match=r"no evaluation at step 1; evaluated at \[2, 3\]"):
        hist.at(1)
    with pytest.raises(KeyError, match="no evaluation recorded 'valid'"):
        hist.series("valid")
