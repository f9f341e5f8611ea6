"""symlib.layers.egnn: E(3) and permutation equivariance, stability, bad inputs."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from torch_geometric.data import Batch, Data

from symlib.equivariance import equivariance_error
from symlib.geometry import complete_graph
from symlib.groups import Euclidean3d, GraphPermutation, Permutation, Product, Trivial
from symlib.layers import count_parameters, egnn
from symlib.layers.egnn import EGNN, CoordinateGNN, EGNNLayer, LinearDynamics

from helpers import assert_broken, assert_equivariant, assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")


def _system(n: int = 5, dtype: torch.dtype = torch.float64, seed: int = 0) -> Data:
    g = torch.Generator().manual_seed(seed)
    return Data(pos=torch.randn(n, 3, generator=g, dtype=dtype),
                vel=torch.randn(n, 3, generator=g, dtype=dtype),
                charges=(torch.randint(0, 2, (n, 1), generator=g) * 2 - 1).to(dtype),
                edge_index=complete_graph(1, n), num_nodes=n)


def _model(dtype: torch.dtype) -> EGNN:
    torch.manual_seed(0)
    model = EGNN(hidden=16, layers=3).to(dtype)
    for layer in model.layers:  # a non-trivial coordinate MLP, so equivariance is really tested
        torch.nn.init.normal_(layer.phi_x[-1].weight, std=0.3)
    return model


def _assert_e3_equivariant(model: torch.nn.Module, data: Data, reflections: bool, dtype: torch.dtype) -> None:
    """Rotating (and reflecting) and translating positions, rotating velocities: the predicted
    positions move along."""
    group = Euclidean3d(reflections=reflections)

    def f(inputs: tuple) -> torch.Tensor:
        graph = data.clone()
        graph.pos, graph.vel, graph.charges = inputs
        return model(graph)

    act = Product(group, group.on_vectors(), Trivial())
    assert_equivariant(f, (data.pos, data.vel, data.charges), act, group, dtype=dtype)


@pytest.mark.parametrize("reflections", [False, True])
def test_equivariant_to_rotations_reflections_translations(dtype: torch.dtype, reflections: bool) -> None:
    _assert_e3_equivariant(_model(dtype), _system(dtype=dtype), reflections, dtype)


def test_equivariant_to_relabelling_the_particles(dtype: torch.dtype) -> None:
    model, data = _model(dtype), _system(dtype=dtype)
    assert_equivariant(model, data, GraphPermutation(5), Permutation(5, dim=0), dtype=dtype)


def test_a_plain_mlp_on_coordinates_is_not_equivariant() -> None:
    """The check above can fail: a model that reads raw coordinates breaks rotation symmetry."""
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.SiLU(), torch.nn.Linear(16, 3)).double()
    data, group = _system(), Euclidean3d()
    f = lambda inputs: inputs[0] + mlp(torch.cat(inputs[:2], -1))  # noqa: E731
    act = Product(group, group.on_vectors(), Trivial())
    assert_broken(equivariance_error(f, (data.pos, data.vel, data.charges), act, group))


def test_fresh_model_starts_close_to_inertial_motion() -> None:
    """The small-gain init: an untrained EGNN moves particles along a learned multiple of v, with
    tiny interaction terms, so deep stacks start stable."""
    data = _system()
    model = EGNN(hidden=32, layers=4).double()
    out = model(data)
    assert torch.isfinite(out).all() and out.shape == (5, 3)
    layer = model.layers[0]
    assert float(layer.phi_x[-1].weight.detach().abs().max()) < 0.01


def test_batches_of_systems_are_independent() -> None:
    model = _model(torch.float64)
    a, b = _system(seed=1), _system(n=4, seed=2)
    out = model(Batch.from_data_list([a, b]))
    assert torch.allclose(out[:5], model(a)) and torch.allclose(out[5:], model(b))


def test_gradients_reach_every_parameter() -> None:
    model = _model(torch.float64)
    model(_system()).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_bad_inputs_are_named() -> None:
    layer = EGNNLayer(8, edge_dim=2)
    h, x, v = torch.randn(5, 8), torch.randn(5, 3), torch.randn(5, 3)
    edges = _system().edge_index
    attr = torch.randn(20, 2)
    with pytest.raises(ValueError, match=r"coordinates must be \[num_nodes, 3\]"):
        layer(h, torch.randn(5, 2), v, edges, attr)
    with pytest.raises(ValueError, match="features must be"):
        layer(h[:4], x, v, edges, attr)
    with pytest.raises(ValueError, match="velocities"):
        layer(h, x, v[:, :2], edges, attr)
    with pytest.raises(ValueError, match="edge_index"):
        layer(h, x, v, edges.float(), attr)
    with pytest.raises(ValueError, match="edge_attr"):
        layer(h, x, v, edges, None)


def test_the_coordinate_gnn_baseline_is_permutation_but_not_rotation_equivariant() -> None:
    torch.manual_seed(0)
    model, data = CoordinateGNN(hidden=16, layers=2).double(), _system()
    assert_equivariant(model, data, GraphPermutation(5), Permutation(5, dim=0), dtype=torch.float64)
    group = Euclidean3d()

    def f(inputs: tuple) -> torch.Tensor:
        graph = data.clone()
        graph.pos, graph.vel, graph.charges = inputs
        return model(graph)

    act = Product(group, group.on_vectors(), Trivial())
    assert_broken(equivariance_error(f, (data.pos, data.vel, data.charges), act, group))
    out = model(Batch.from_data_list([data, _system(seed=4)]))
    assert out.shape == (10, 3) and torch.isfinite(out).all()


def test_linear_dynamics_is_the_motion_equation_with_one_learned_time() -> None:
    """The paper's Linear baseline: x + t·v, one parameter, t starting at the authors' 0.7."""
    model, data = LinearDynamics().double(), _system()
    assert count_parameters(model) == 1
    assert torch.allclose(model(data), data.pos + 0.7 * data.vel)
    with torch.no_grad():
        model.time.fill_(0.25)
    assert torch.allclose(model(data), data.pos + 0.25 * data.vel)
    model(data).square().sum().backward()
    assert model.time.grad is not None and torch.isfinite(model.time.grad).all()


@pytest.mark.parametrize("reflections", [False, True])
def test_linear_dynamics_is_e3_and_permutation_equivariant(dtype: torch.dtype, reflections: bool) -> None:
    model, data = LinearDynamics(time=0.6).to(dtype), _system(dtype=dtype)
    _assert_e3_equivariant(model, data, reflections, dtype)
    assert_equivariant(model, data, GraphPermutation(5), Permutation(5, dim=0), dtype=dtype)


def test_linear_dynamics_names_bad_inputs() -> None:
    model, data = LinearDynamics(), _system(dtype=torch.float32)
    with pytest.raises(ValueError, match="pos and vel"):
        model(Data(pos=data.pos))
    with pytest.raises(ValueError, match=r"\[N, 3\]"):
        model(Data(pos=data.pos, vel=data.vel[:, :2]))


DENSE_MODELS = {"EGNN": lambda: _model(torch.float64),     # non-trivial coordinate updates
                "GNN": lambda: CoordinateGNN(hidden=16, layers=2),
                "GNN, positions": lambda: CoordinateGNN(hidden=16, layers=2, predict="positions"),
                "Linear": lambda: LinearDynamics(time=0.3)}


@pytest.mark.parametrize("name", list(DENSE_MODELS))
@pytest.mark.parametrize("n", [2, 5, 7])
def test_the_dense_path_computes_the_graph_path(dtype: torch.dtype, n: int, name: str) -> None:
    """Each model's dense path on [B, n, 3] tensors equals forward on the same complete graphs (same
    weights)."""
    from symlib.data.nbody import as_graph

    torch.manual_seed(0)
    model = DENSE_MODELS[name]().to(dtype)
    g = torch.Generator().manual_seed(n)
    pos, vel = (torch.randn(4, n, 3, generator=g, dtype=torch.float64).to(dtype) for _ in range(2))
    charges = (torch.randint(0, 2, (4, n), generator=g) * 2 - 1).to(dtype)
    dense = model.dense(pos, vel, charges)
    assert dense.shape == (4, n, 3)
    assert_matches(dense, model(as_graph(pos, vel, charges)).view(4, n, 3), dtype=dtype)


def test_the_dense_path_is_e3_equivariant(dtype: torch.dtype) -> None:
    model, data = _model(dtype), _system(dtype=dtype)
    group = Euclidean3d(reflections=True)

    def f(inputs: tuple) -> torch.Tensor:
        pos, vel, charges = inputs
        return model.dense(pos[None], vel[None], charges[None, :, 0])[0]

    act = Product(group, group.on_vectors(), Trivial())
    assert_equivariant(f, (data.pos, data.vel, data.charges), act, group, dtype=dtype)


def test_the_authors_gnn_decodes_positions_with_a_two_layer_mlp() -> None:
    """predict="positions": x̂ = ψ(h) (no x + ...), ψ a two-layer MLP: 104,387 parameters at the
    paper's 4 × 64; the book's default decodes a displacement with one linear layer."""
    paper, book = CoordinateGNN(64, 4, predict="positions"), CoordinateGNN(64, 4)
    assert (count_parameters(paper), count_parameters(book)) == (104_387, 100_227)
    torch.manual_seed(0)
    data = _system(dtype=torch.float32)
    with torch.no_grad():
        paper.out[-1].weight.zero_(), paper.out[-1].bias.zero_(), book.out.weight.zero_()
        book.out.bias.zero_()
    assert torch.equal(paper(data), torch.zeros(5, 3)) and torch.equal(book(data), data.pos)
    with pytest.raises(ValueError, match="predict must be"):
        CoordinateGNN(predict="coordinates")


def test_neighbours_lists_every_other_node_and_dense_names_bad_shapes() -> None:
    from symlib.layers.egnn import neighbours

    assert neighbours(4).tolist() == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]
    model = EGNN(hidden=8, layers=2)
    with pytest.raises(ValueError, match=r"charges \[B, n\]"):
        model.dense(torch.randn(2, 5, 3), torch.randn(2, 5, 3), torch.randn(2, 5, 1))
    with pytest.raises(ValueError, match="at least 2 nodes"):
        model.layers[0].dense(torch.randn(2, 1, 8), torch.randn(2, 1, 3), torch.randn(2, 1, 3),
                              torch.randn(2, 1, 0, 2))
    with pytest.raises(ValueError, match="edge_attr must be"):
        model.layers[0].dense(torch.randn(2, 5, 8), torch.randn(2, 5, 3), torch.randn(2, 5, 3))
    for other in (CoordinateGNN(hidden=8, layers=1), LinearDynamics()):
        with pytest.raises(ValueError, match=r"charges \[B, n\]"):
            other.dense(torch.randn(2, 5, 3), torch.randn(2, 5, 3), torch.randn(2, 5, 1))
        with pytest.raises(ValueError, match="at least 2 nodes"):
            other.dense(torch.randn(2, 1, 3), torch.randn(2, 1, 3), torch.randn(2, 1))


def test_the_model_checks_its_inputs_once_and_its_layers_not_again() -> None:
    """EGNN checks the graph once per call (not once more in each of its layers); a layer called on
    its own checks, and an unchecked layer computes the same."""
    model, data = _model(torch.float64), _system()
    assert not any(layer.validate for layer in model.layers)
    with mock.patch.object(egnn, "_check_graph", wraps=egnn._check_graph) as check:
        model(data)
    assert check.call_count == 1
    bad = data.clone()
    bad.edge_index = bad.edge_index.float()
    with pytest.raises(ValueError, match=r"edge_index must be a long tensor \[2, E\]"):
        model(bad)
    layer = EGNNLayer(8, edge_dim=2).double()
    assert layer.validate
    h, x, v = (torch.randn(5, k, dtype=torch.float64) for k in (8, 3, 3))
    attr = torch.randn(data.edge_index.shape[1], 2, dtype=torch.float64)
    with mock.patch.object(egnn, "_check_graph", wraps=egnn._check_graph) as check:
        checked = layer(h, x, v, data.edge_index, attr)
        with pytest.raises(ValueError, match="velocities"):
            layer(h, x, v[:, :2], data.edge_index, attr)
        layer.validate = False
        unchecked = layer(h, x, v, data.edge_index, attr)
    assert check.call_count == 2
    assert all(torch.equal(a, b) for a, b in zip(checked, unchecked))
