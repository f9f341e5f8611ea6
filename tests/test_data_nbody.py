"""symlib.data.nbody: the charged-particle simulator, checked against the physics it implements."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symlib.data import nbody
from symlib.groups import Euclidean3d

pytestmark = pytest.mark.usefixtures("single_threaded_torch")


def _systems(num: int = 16, seed: int = 0):
    return nbody.initial_conditions(num, generator=torch.Generator().manual_seed(seed))


def _energy(pos: torch.Tensor, vel: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Kinetic + Coulomb energy per system (unit masses): Σ ½v² + Σ_{i<j} q_i q_j / r_ij."""
    kinetic = 0.5 * vel.square().sum((-1, -2))
    r = (pos[:, :, None] - pos[:, None]).norm(dim=-1)
    n = pos.shape[1]
    iu = torch.triu_indices(n, n, 1)
    potential = (q[:, iu[0]] * q[:, iu[1]] / r[:, iu[0], iu[1]]).sum(-1)
    return kinetic + potential


def test_initial_conditions_follow_the_benchmark() -> None:
    pos, vel, q = _systems(2000)
    assert pos.shape == vel.shape == (2000, 5, 3) and q.shape == (2000, 5)
    assert torch.allclose(vel.norm(dim=-1), torch.full((2000, 5), 0.5, dtype=torch.float64))
    assert set(q.unique().tolist()) == {-1.0, 1.0}
    assert abs(float(pos.std()) - 1.0) < 0.03 and abs(float(pos.mean())) < 0.03


def test_forces_are_coulomb_and_antisymmetric() -> None:
    pos = torch.tensor([[[0.0, 0, 0], [2.0, 0, 0]]], dtype=torch.float64)
    f_like = nbody.forces(pos, torch.tensor([[1.0, 1.0]], dtype=torch.float64))
    f_unlike = nbody.forces(pos, torch.tensor([[1.0, -1.0]], dtype=torch.float64))
    assert torch.allclose(f_like[0, 0], torch.tensor([-0.25, 0, 0], dtype=torch.float64))  # repelled
    assert torch.allclose(f_unlike[0, 0], torch.tensor([0.25, 0, 0], dtype=torch.float64))  # attracted
    assert torch.allclose(f_like.sum(1), torch.zeros(1, 3, dtype=torch.float64))


def test_momentum_is_conserved_and_energy_nearly() -> None:
    pos, vel, q = _systems(64)
    p_t, v_t = nbody.simulate(pos, vel, q, 1000, max_force=float("inf"))  # the clip is the only
    # non-physical part
    drift = (v_t[:, -1].sum(1) - v_t[:, 0].sum(1)).norm(dim=-1)
    assert float(drift.max()) < 1e-10
    energy = _energy(p_t[:, 0], v_t[:, 0], q), _energy(p_t[:, -1], v_t[:, -1], q)
    relative = (energy[1] - energy[0]).abs() / energy[0].abs().clamp(min=1e-3)
    assert float(relative.median()) < 1e-2  # first-order integrator, half-step velocity offset


def test_the_force_clip_breaks_conservation_only_in_close_encounters() -> None:
    pos, vel, q = _systems(64)
    _, v_t = nbody.simulate(pos, vel, q, 1000)
    drift = (v_t[:, -1].sum(1) - v_t[:, 0].sum(1)).norm(dim=-1)
    assert float((drift < 1e-10).float().mean()) > 0.5


def test_the_simulator_is_equivariant() -> None:
    """Physics has no preferred orientation: rotating the initial state rotates the trajectory.
    (The original benchmark clips each force *component*, which is not rotation-equivariant: the
    check switches the clip off.)"""
    pos, vel, q = _systems(8)
    group = Euclidean3d(reflections=True)
    g = group.sample(torch.Generator().manual_seed(3))
    exact = float("inf")
    p_t, v_t = nbody.simulate(pos, vel, q, 300, max_force=exact)
    p_g, v_g = nbody.simulate(group.act(g, pos), group.on_vectors().act(g, vel), q, 300, max_force=exact)
    assert torch.allclose(p_g, group.act(g, p_t), atol=1e-8)
    assert torch.allclose(v_g, group.on_vectors().act(g, v_t), atol=1e-8)


def test_snapshots_and_splits(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYMLIB_CACHE", str(tmp_path))
    monkeypatch.setitem(nbody.SPLITS, "test", 6)  # a tiny split keeps the test fast
    data = nbody.load("test")
    assert len(data) == 6 and data.pos.dtype == torch.float32
    again = nbody.load("test")                     # from the cache now
    assert torch.equal(data.target, again.target) and list(tmp_path.iterdir())
    assert torch.equal(nbody.load("test", cache=False).target, data.target)
    assert len(nbody.load("test", 4)) == 4
    graph = data.graphs()[0]
    assert graph.edge_index.shape == (2, 20) and graph.charges.shape == (5, 1)
    assert (graph.edge_index[0] != graph.edge_index[1]).all()


@pytest.mark.parametrize("kwargs,match", [({"split": "dev"}, "unknown split"),
                                          ({"split": "train", "num": 0}, "num must be"),
                                          ({"split": "train", "num": 3001}, "num must be")])
def test_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        nbody.load(**kwargs)


def test_shape_errors() -> None:
    pos, vel, q = _systems(2)
    with pytest.raises(ValueError, match="pos and vel"):
        nbody.simulate(pos[..., :2], vel[..., :2], q, 10)
    with pytest.raises(ValueError, match="charges"):
        nbody.simulate(pos, vel, q[:, :3], 10)


def test_graphs_are_the_systems_as_complete_graphs() -> None:
    """``NBody.graphs()``: one torch_geometric ``Data`` per system, fully connected, no self-loops;
    batched by torch_geometric they are ``complete_graph(B, 5)`` over the stacked tensors."""
    from torch_geometric.data import Batch

    from symlib.geometry import complete_graph

    data = nbody.generate(3, seed=0)
    graphs = data.graphs()
    assert len(graphs) == 3 and all(g.num_nodes == 5 and g.edge_index.shape == (2, 20) for g in graphs)
    assert torch.equal(graphs[1].pos, data.pos[1]) and torch.equal(graphs[1].y, data.target[1])
    assert torch.equal(graphs[2].charges, data.charges[2, :, None])
    assert not (graphs[0].edge_index[0] == graphs[0].edge_index[1]).any()        # no self-loops
    batch = Batch.from_data_list(graphs)
    assert torch.equal(batch.edge_index, complete_graph(3, 5))                    # no edge between systems
    assert torch.equal(batch.vel, data.vel.reshape(-1, 3)) and batch.charges.shape == (15, 1)


def test_generate_cache_returns_the_same_systems(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYMLIB_CACHE", str(tmp_path))
    first = nbody.generate(4, seed=7, cache=True)
    assert len(list(tmp_path.iterdir())) == 1
    again = nbody.generate(4, seed=7, cache=True)
    assert torch.equal(first.target, again.target) and torch.equal(first.pos, nbody.generate(4, seed=7).pos)


def test_losses_of_a_perfect_and_an_equivariant_predictor() -> None:
    from symlib.layers.egnn import LinearDynamics

    data = nbody.generate(4, seed=0)
    batch = (data.pos, data.vel, data.charges, data.target)
    exact = lambda pos, vel, charges: batch[3]  # noqa: E731 - predicts the truth of the unrotated batch
    assert nbody.loss(exact, batch).item() == 0.0
    drift = LinearDynamics(time=1.0)   # x + v: equivariant, so rotating changes nothing but rounding
    with torch.no_grad():
        assert torch.equal(nbody.loss(drift, batch), torch.nn.functional.mse_loss(data.pos + data.vel,
                                                                                   data.target))
        torch.manual_seed(0)
        assert nbody.rotated_loss(drift, batch).item() == pytest.approx(nbody.loss(drift, batch).item(),
                                                                        rel=1e-5)


def test_the_data_are_the_same_with_other_cpu_kernels(tmp_path) -> None:
    """Bit for bit with PyTorch's portable kernels (``ATEN_CPU_CAPABILITY=default``) and its vectorised
    ones: a chaotic system would turn a last-bit difference into another trajectory."""
    import os
    import subprocess
    import sys

    code = ("import sys, torch; from symlib.data.nbody import generate; "
            "d = generate(8, seed=11); torch.save([d.pos, d.vel, d.target], sys.argv[1])")
    runs = []
    for cap in ("default", None):
        env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
        if cap:
            env["ATEN_CPU_CAPABILITY"] = cap
        out = tmp_path / f"{cap}.pt"
        subprocess.run([sys.executable, "-c", code, str(out)], env=env, check=True, timeout=300)
        runs.append(torch.load(out, weights_only=True))
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_symmetries_audit_the_egnn_as_exact_and_the_gnn_as_broken() -> None:
    from symlib.audit import audit
    from symlib.layers.egnn import EGNN, CoordinateGNN, LinearDynamics

    systems = nbody.generate(2, seed=0)
    x = (systems.pos, systems.vel, systems.charges)
    names = ["rotation", "reflection", "translation", "relabelling"]
    torch.manual_seed(0)
    for output in ("positions", "displacement"):
        rows = nbody.symmetries(samples=3, output=output)
        assert [r.name for r in rows] == names and all(len(r.elements) == 3 for r in rows)
        assert audit(EGNN(hidden=8, layers=1), x, rows).holding() == names
        assert audit(CoordinateGNN(hidden=8, layers=1), x, rows).holding() == ["relabelling"]
        assert audit(LinearDynamics(), x, rows).holding() == names
    again = nbody.symmetries(samples=3)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(rows[0].elements, again[0].elements))  # seeded
    with pytest.raises(ValueError, match="output must be"):
        nbody.symmetries(output="velocities")


def test_simulate_reports_where_the_clip_acted() -> None:
    """clipped[:, k] is the clip acting between snapshots k and k + 1, as a step-by-step replay with
    the public force function records it; the trajectory is the same with or without the record."""
    pos, vel, q = _systems(32)
    steps, every = 600, 100
    p_t, v_t, clipped = nbody.simulate(pos, vel, q, steps, sample_every=every, return_clipped=True)
    assert clipped.shape == (32, steps // every) and clipped.dtype == torch.bool
    assert all(torch.equal(a, b) for a, b in zip((p_t, v_t), nbody.simulate(pos, vel, q, steps,
                                                                           sample_every=every)))
    p, v, hits = pos.clone(), vel.clone(), torch.zeros(32, steps // every, dtype=torch.bool)
    for step in range(steps):
        force = nbody.forces(p, q)
        hits[:, step // every] |= (force.abs() == nbody.MAX_FORCE).flatten(1).any(1)
        v += nbody.DT * force
        p += nbody.DT * v
    assert torch.equal(p, p_t[:, -1]) and torch.equal(clipped, hits)
    assert clipped.any() and not clipped.all()                    # both kinds occur in 32 systems
    unclipped = nbody.simulate(pos, vel, q, steps, max_force=float("inf"), return_clipped=True)[2]
    assert not unclipped.any()
    assert nbody.simulate(pos, vel, q, 50, return_clipped=True)[2].shape == (32, 0)


def test_dataset_is_what_the_loss_expects() -> None:
    data = nbody.generate(3, seed=0)
    ds = data.dataset()
    assert len(ds) == 3 and all(torch.equal(a, b) for a, b in
                                zip(ds.tensors, (data.pos, data.vel, data.charges, data.target)))
    loss = nbody.loss(lambda pos, vel, charges: pos + vel, ds[:])
    assert loss.ndim == 0 and float(loss) > 0


def test_split_seeds_are_distinct_and_documented() -> None:
    seeds = {split: nbody.split_seed(split) for split in nbody.SPLITS}
    assert len(set(seeds.values())) == 3 and nbody.split_seed("test", seed=1) != seeds["test"]
    with pytest.raises(ValueError, match="unknown split"):
        nbody.split_seed("validation")


def test_to_moves_every_tensor() -> None:
    data = nbody.generate(2, seed=0)
    moved = data.to("meta")
    assert all(t.device.type == "meta" for t in (moved.pos, moved.vel, moved.charges, moved.target))
    assert len(moved) == 2 and data.pos.device.type == "cpu"


def test_the_authors_initial_conditions_are_their_numpy_draws_in_their_order() -> None:
    """The replay uses one uniform number per charge; the authors call ``np.random.choice`` with
    probabilities, then draw positions, velocities and two unused noise arrays, system after system."""
    rng = np.random.RandomState(nbody.AUTHORS_SEED)
    pos, vel, charges = nbody.authors_initial_conditions("train")
    assert pos.shape == (10_000, 5, 3) and charges.shape == (10_000, 5) and pos.dtype == torch.float64
    for i in range(3):
        q = rng.choice(np.array([-1.0, 0.0, 1.0]), size=(5, 1), p=[0.5, 0.0, 0.5])[:, 0]
        x, v = rng.randn(3, 5), rng.randn(3, 5)
        rng.randn(49, 3, 5), rng.randn(49, 3, 5)
        # numpy's normals go through this machine's C library's log, the replay's through a correctly
        # rounded one: equal up to that log's last bit
        assert np.array_equal(charges[i].numpy(), q) and np.allclose(pos[i].numpy(), x.T, rtol=1e-15, atol=0)
        assert np.allclose(vel[i].numpy(), 0.5 * v.T / np.linalg.norm(v, axis=0)[:, None], rtol=0, atol=1e-15)
    valid = nbody.authors_initial_conditions("valid")[0]
    assert valid.shape == (2_000, 5, 3) and not (valid[:, None] == pos[None, :50]).all(-1).all(-1).any()
    with pytest.raises(ValueError, match="unknown split"):
        nbody.authors_initial_conditions("validation")


def test_the_authors_frames_are_the_states_after_3100_and_4100_steps(monkeypatch) -> None:
    monkeypatch.setitem(nbody.SPLITS, "test", 3)
    data = nbody.load_authors("test", cache=False)
    pos0, vel0, q = (t[:3] for t in nbody.authors_initial_conditions("test"))
    pos, vel = nbody.simulate(pos0, vel0, q, 4100, sample_every=3100)   # snapshots 0 and 3,100
    assert torch.equal(data.pos, pos[:, 1].float()) and torch.equal(data.vel, vel[:, 1].float())
    later, _ = nbody.simulate(pos0, vel0, q, 4100, sample_every=4100)
    assert torch.equal(data.target, later[:, 1].float()) and torch.equal(data.charges, q.float())
    with pytest.raises(ValueError, match="unknown split"):
        nbody.load_authors("all")


def test_stable_systems_are_those_a_last_bit_perturbation_leaves_in_place(monkeypatch) -> None:
    monkeypatch.setitem(nbody.SPLITS, "test", 40)
    data = nbody.load("test", cache=False)
    assert data.stable.dtype == torch.bool and data.stable.shape == (40,)
    gen = torch.Generator().manual_seed(nbody.split_seed("test"))
    pos0, vel0, q = nbody.initial_conditions(40, generator=gen)
    steps = nbody.FRAME_OUT * nbody.SAMPLE_EVERY
    exact, _ = nbody.simulate(pos0, vel0, q, steps, sample_every=steps)
    nudged, _ = nbody.simulate(pos0 * (1 + nbody.PERTURBATION), vel0, q, steps, sample_every=steps)
    moved = (exact[:, 1] - nudged[:, 1]).abs().flatten(1).amax(1)
    assert torch.equal(data.stable, moved < nbody.STABLE_TOLERANCE)
    assert int((~data.stable).sum()) == 3                             # the same three on every machine
    assert data.subset(5).stable.equal(data.stable[:5]) and data.to("meta").stable.device.type == "meta"
    assert nbody.generate(3, seed=0).stable is None                  # computed for the published splits
