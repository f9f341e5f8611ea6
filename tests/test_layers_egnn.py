"""symlib.layers.egnn: E(3) and permutation equivariance, stability, bad inputs, and the EGNN equal to
its layers' graph path."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data
from torch_geometric.utils import scatter

from symlib.data.nbody import NBody
from symlib.equivariance import equivariance_error
from symlib.geometry import complete_graph
from symlib.groups import Euclidean3d, GraphPermutation, Permutation, Product, Trivial
from symlib.layers import count_parameters, egnn
from symlib.layers.egnn import EGNN, CoordinateGNN, EGNNLayer, LinearDynamics, RadialField

from helpers import assert_broken, assert_equivariant, assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")

Systems = tuple[Tensor, Tensor, Tensor]


def _systems(b: int = 1, n: int = 5, dtype: torch.dtype = torch.float64, seed: int = 0) -> Systems:
    """``pos, vel [b, n, 3]``, ``charges [b, n]`` (±1): the models' input."""
    g = torch.Generator().manual_seed(seed)
    pos, vel = (torch.randn(b, n, 3, generator=g, dtype=torch.float64).to(dtype) for _ in range(2))
    return pos, vel, (torch.randint(0, 2, (b, n), generator=g) * 2 - 1).to(dtype)


def _graph(pos: Tensor, vel: Tensor, charges: Tensor) -> Batch:
    """The same systems as torch_geometric's batch of complete graphs (:meth:`NBody.graphs`)."""
    return Batch.from_data_list(NBody(pos, vel, charges, target=pos).graphs())


def egnn_on_graph(model: EGNN, data: Data) -> Tensor:
    """The EGNN's own layers run through their graph form, :meth:`EGNNLayer.forward`, on a
    (batched) graph with ``pos, vel [N, 3]``, ``charges [N, 1]`` and ``edge_index``: predicted
    positions ``[N, 3]``. (The model's own forward is the dense one, on ``[B, n, ·]`` tensors.)"""
    x, v, q = data.pos, data.vel, data.charges
    j, i = data.edge_index
    edge_attr = torch.cat([q[i] * q[j], (x[i] - x[j]).square().sum(-1, keepdim=True)], -1)
    h = model.embed(v.norm(dim=-1, keepdim=True))
    for layer in model.layers:
        h, x, _ = layer(h, x, v, data.edge_index, edge_attr)
    return x


def gnn_on_graph(model: CoordinateGNN, data: Data) -> Tensor:
    """:class:`CoordinateGNN` on a (batched) graph, messages gathered over ``edge_index`` and
    scattered to their targets: predicted positions ``[N, 3]``."""
    x, v, q = data.pos, data.vel, data.charges
    j, i = data.edge_index
    h = model.embed(torch.cat([x, v], -1))
    for phi_e, phi_h in zip(model.phi_e, model.phi_h):
        m = phi_e(torch.cat([h[i], h[j], q[i] * q[j]], -1))
        h = h + phi_h(torch.cat([h, scatter(m, i, dim=0, dim_size=x.shape[0], reduce="sum")], -1))
    return model._decode(x, h)


def rf_on_graph(model: RadialField, data: Data) -> Tensor:
    """:class:`RadialField` on a (batched) graph, as the authors' ``GCL_rf_vel`` computes it: per
    edge ``(x_i − x_j) φ(‖x_i − x_j‖, q_i q_j, ‖x_i⁰ − x_j⁰‖²)``, averaged into ``i``; then ``+ ψ(‖v_i‖)
    v_i``. Predicted positions ``[N, 3]``."""
    x, v, q = data.pos, data.vel, data.charges
    j, i = data.edge_index
    attr = torch.cat([q[i] * q[j], (x[i] - x[j]).square().sum(-1, keepdim=True)], -1)
    for phi, psi in zip(model.phi, model.psi):
        rel = x[i] - x[j]
        field = rel * phi(torch.cat([rel.norm(dim=-1, keepdim=True), attr], -1))
        x = x + scatter(field, i, dim=0, dim_size=x.shape[0], reduce="mean")
        x = x + psi(v.norm(dim=-1, keepdim=True)) * v
    return x


def _model(dtype: torch.dtype) -> EGNN:
    torch.manual_seed(0)
    model = EGNN(hidden=16, layers=3).to(dtype)
    for layer in model.layers:  # a non-trivial coordinate MLP, so equivariance is really tested
        torch.nn.init.normal_(layer.phi_x[-1].weight, std=0.3)
    return model


def _e3(reflections: bool = False) -> tuple[Product, Euclidean3d]:
    """Rigid motions moving positions, turning velocities and keeping charges; and their action on
    the predicted positions."""
    group = Euclidean3d(reflections=reflections)
    return Product(group, group.on_vectors(), Trivial()), group


RELABEL = Permutation(5, dim=1)
RELABEL_INPUTS = Product(RELABEL, RELABEL, RELABEL)


@pytest.mark.parametrize("reflections", [False, True])
def test_equivariant_to_rotations_reflections_translations(dtype: torch.dtype, reflections: bool) -> None:
    """Rotating (and reflecting) and translating positions, rotating velocities: the predicted
    positions move along."""
    model = _model(dtype)
    assert_equivariant(lambda x: model(*x), _systems(2, dtype=dtype), *_e3(reflections), dtype=dtype)


def test_equivariant_to_relabelling_the_particles(dtype: torch.dtype) -> None:
    model = _model(dtype)
    assert_equivariant(lambda x: model(*x), _systems(2, dtype=dtype), RELABEL_INPUTS, RELABEL, dtype=dtype)


def test_the_layers_graph_path_is_equivariant(dtype: torch.dtype) -> None:
    """The same properties for the layers' graph form (``EGNNLayer.forward``, scatters over
    ``edge_index``): E(3) on the coordinates, and relabelling the graph's nodes."""
    model, (pos, vel, charges) = _model(dtype), _systems(dtype=dtype)
    data = NBody(pos, vel, charges, target=pos).graphs()[0]

    def f(inputs: tuple) -> Tensor:
        graph = data.clone()
        graph.pos, graph.vel, graph.charges = inputs
        return egnn_on_graph(model, graph)

    assert_equivariant(f, (data.pos, data.vel, data.charges), *_e3(reflections=True), dtype=dtype)
    assert_equivariant(lambda d: egnn_on_graph(model, d), data, GraphPermutation(5), Permutation(5, dim=0),
                       dtype=dtype)


def test_a_plain_mlp_on_coordinates_is_not_equivariant() -> None:
    """The check above can fail: a model that reads raw coordinates breaks rotation symmetry."""
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.SiLU(), torch.nn.Linear(16, 3)).double()
    f = lambda inputs: inputs[0] + mlp(torch.cat(inputs[:2], -1))  # noqa: E731
    assert_broken(equivariance_error(f, _systems(), *_e3()))


def test_fresh_model_starts_close_to_inertial_motion() -> None:
    """The small-gain init: an untrained EGNN moves particles along a learned multiple of v, with
    tiny interaction terms, so deep stacks start stable."""
    model = EGNN(hidden=32, layers=4).double()
    out = model(*_systems())
    assert torch.isfinite(out).all() and out.shape == (1, 5, 3)
    layer = model.layers[0]
    assert float(layer.phi_x[-1].weight.detach().abs().max()) < 0.01


def test_batches_of_systems_are_independent() -> None:
    """Each system is predicted on its own, in a batch of the model's tensors as on torch_geometric's
    disjoint graph (where the systems may differ in size)."""
    model = _model(torch.float64)
    a, b = _systems(seed=1), _systems(seed=2)
    out = model(*(torch.cat(pair) for pair in zip(a, b)))
    assert torch.allclose(out[:1], model(*a)) and torch.allclose(out[1:], model(*b))
    c = _systems(n=4, seed=3)
    graphs = Batch.from_data_list(NBody(*a, target=a[0]).graphs() + NBody(*c, target=c[0]).graphs())
    out = egnn_on_graph(model, graphs)
    assert torch.allclose(out[:5], model(*a)[0]) and torch.allclose(out[5:], model(*c)[0])


def test_gradients_reach_every_parameter() -> None:
    model = _model(torch.float64)
    model(*_systems()).square().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_bad_inputs_are_named() -> None:
    layer = EGNNLayer(8, edge_dim=2)
    h, x, v = torch.randn(5, 8), torch.randn(5, 3), torch.randn(5, 3)
    edges = complete_graph(1, 5)
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


@pytest.mark.parametrize("cls", [EGNN, CoordinateGNN, LinearDynamics, RadialField], ids=lambda c: c.__name__)
def test_the_models_take_tensors_not_a_graph(cls: type[torch.nn.Module]) -> None:
    """A ``Data`` passed to an N-body model fails at once, naming the arguments it lacks; so do a
    graph's ``[N, 3]`` tensors, naming the shapes the model takes."""
    torch.manual_seed(0)
    model, (pos, vel, charges) = cls(), _systems(dtype=torch.float32)
    with pytest.raises(TypeError, match="'vel' and 'charges'"):
        model(_graph(pos, vel, charges))
    with pytest.raises(ValueError, match=r"expected pos, vel \[B, n, 3\] and charges \[B, n\]"):
        model(pos[0], vel[0], charges[0, :, None])


def test_the_coordinate_gnn_baseline_is_permutation_but_not_rotation_equivariant() -> None:
    torch.manual_seed(0)
    model, x = CoordinateGNN(hidden=16, layers=2).double(), _systems(2)
    f = lambda x: model(*x)  # noqa: E731
    assert_equivariant(f, x, RELABEL_INPUTS, RELABEL, dtype=torch.float64)
    assert_broken(equivariance_error(f, x, *_e3()))
    out = model(*_systems(3, seed=4))
    assert out.shape == (3, 5, 3) and torch.isfinite(out).all()


def test_linear_dynamics_is_the_motion_equation_with_one_learned_time() -> None:
    """The paper's Linear baseline: x + t·v, one parameter, t starting at the authors' 0.7."""
    model, (pos, vel, charges) = LinearDynamics().double(), _systems(2)
    assert count_parameters(model) == 1
    assert torch.allclose(model(pos, vel, charges), pos + 0.7 * vel)
    with torch.no_grad():
        model.time.fill_(0.25)
    assert torch.allclose(model(pos, vel, charges), pos + 0.25 * vel)
    assert torch.equal(model(pos, vel, -charges), model(pos, vel, charges))       # charges unused
    model(pos, vel, charges).square().sum().backward()
    assert model.time.grad is not None and torch.isfinite(model.time.grad).all()


@pytest.mark.parametrize("reflections", [False, True])
def test_linear_dynamics_is_e3_and_permutation_equivariant(dtype: torch.dtype, reflections: bool) -> None:
    model, x = LinearDynamics(time=0.6).to(dtype), _systems(2, dtype=dtype)
    f = lambda x: model(*x)  # noqa: E731
    assert_equivariant(f, x, *_e3(reflections), dtype=dtype)
    assert_equivariant(f, x, RELABEL_INPUTS, RELABEL, dtype=dtype)


def test_linear_dynamics_names_bad_inputs() -> None:
    model, (pos, vel, charges) = LinearDynamics(), _systems(dtype=torch.float32)
    with pytest.raises(ValueError, match=r"expected pos, vel \[B, n, 3\] and charges \[B, n\]"):
        model(pos[0], vel[0], charges[0])
    with pytest.raises(ValueError, match=r"expected pos, vel \[B, n, 3\]"):
        model(pos, vel[..., :2], charges)


GRAPH_PATHS = {"EGNN": (lambda: _model(torch.float64), egnn_on_graph),     # non-trivial coordinate updates
               "GNN": (lambda: CoordinateGNN(hidden=16, layers=2), gnn_on_graph),
               "GNN, positions": (lambda: CoordinateGNN(hidden=16, layers=2, predict="positions"),
                                  gnn_on_graph),
               "Radial Field": (lambda: _field(torch.float64), rf_on_graph)}


def _field(dtype: torch.dtype) -> RadialField:
    torch.manual_seed(0)
    model = RadialField(hidden=16, layers=3).to(dtype)
    for phi in model.phi:       # a field far from zero, so that equivariance is really tested
        torch.nn.init.normal_(phi[2].weight, std=0.3)
    return model


@pytest.mark.parametrize("reflections", [False, True])
def test_the_radial_field_is_e3_and_permutation_equivariant(dtype: torch.dtype, reflections: bool) -> None:
    model, x = _field(dtype), _systems(2, dtype=dtype)
    f = lambda x: model(*x)  # noqa: E731
    assert_equivariant(f, x, *_e3(reflections), dtype=dtype)
    assert_equivariant(f, x, RELABEL_INPUTS, RELABEL, dtype=dtype)


def test_the_radial_field_has_the_authors_sizes() -> None:
    """At the paper's 64 × 4: 513 parameters per layer (φ: 3·64 + 64 + 64, no last bias; ψ: 64 + 64 +
    64 + 1), 2,052 in all, as the authors' ``RF_vel``."""
    assert count_parameters(RadialField()) == 2_052
    assert all(phi[2].bias is None for phi in RadialField().phi)


@pytest.mark.parametrize("name", list(GRAPH_PATHS))
@pytest.mark.parametrize("n", [2, 5, 7])
def test_the_model_computes_its_graph_path(dtype: torch.dtype, n: int, name: str) -> None:
    """Each model's forward on ``[B, n, 3]`` tensors (dense: neighbours on their own axis, no scatter)
    equals the same weights run on torch_geometric's batch of the same complete graphs, gathering
    and scattering over ``edge_index`` (for the EGNN, its layers' ``forward``)."""
    make, on_graph = GRAPH_PATHS[name]
    torch.manual_seed(0)
    model = make().to(dtype)
    pos, vel, charges = _systems(4, n, dtype=dtype, seed=n)
    dense = model(pos, vel, charges)
    assert dense.shape == (4, n, 3) and dense.dtype == dtype
    graph = on_graph(model, _graph(pos, vel, charges))
    assert graph.shape == (4 * n, 3)
    assert_matches(dense.view(-1, 3), graph, dtype=dtype)


def test_the_authors_gnn_decodes_positions_with_a_two_layer_mlp() -> None:
    """predict="positions": x̂ = ψ(h) (no x + ...), ψ a two-layer MLP: 104,387 parameters at the
    paper's 4 × 64; the book's default decodes a displacement with one linear layer."""
    paper, book = CoordinateGNN(64, 4, predict="positions"), CoordinateGNN(64, 4)
    assert (count_parameters(paper), count_parameters(book)) == (104_387, 100_227)
    torch.manual_seed(0)
    pos, vel, charges = _systems(dtype=torch.float32)
    with torch.no_grad():
        paper.out[-1].weight.zero_(), paper.out[-1].bias.zero_(), book.out.weight.zero_()
        book.out.bias.zero_()
    assert torch.equal(paper(pos, vel, charges), torch.zeros(1, 5, 3))
    assert torch.equal(book(pos, vel, charges), pos)
    with pytest.raises(ValueError, match="predict must be"):
        CoordinateGNN(predict="coordinates")


def test_the_dense_forms_name_bad_shapes() -> None:
    model = EGNN(hidden=8, layers=2)
    with pytest.raises(ValueError, match=r"charges \[B, n\]"):
        model(torch.randn(2, 5, 3), torch.randn(2, 5, 3), torch.randn(2, 5, 1))
    with pytest.raises(ValueError, match="at least 2 nodes"):
        model(torch.randn(2, 1, 3), torch.randn(2, 1, 3), torch.randn(2, 1))
    with pytest.raises(ValueError, match="at least 2 nodes"):
        model.layers[0].dense(torch.randn(2, 1, 8), torch.randn(2, 1, 3), torch.randn(2, 1, 3),
                              torch.randn(2, 1, 0, 2))
    with pytest.raises(ValueError, match="edge_attr must be"):
        model.layers[0].dense(torch.randn(2, 5, 8), torch.randn(2, 5, 3), torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match=r"x and v must be \[B=2, n=5, 3\]"):
        model.layers[0].dense(torch.randn(2, 5, 8), torch.randn(2, 5, 3), torch.randn(2, 5, 2),
                              torch.randn(2, 5, 4, 2))
    for other in (CoordinateGNN(hidden=8, layers=1), LinearDynamics()):
        with pytest.raises(ValueError, match=r"charges \[B, n\]"):
            other(torch.randn(2, 5, 3), torch.randn(2, 5, 3), torch.randn(2, 5, 1))
        with pytest.raises(ValueError, match="at least 2 nodes"):
            other(torch.randn(2, 1, 3), torch.randn(2, 1, 3), torch.randn(2, 1))


def test_the_model_checks_its_inputs_once_and_a_layer_on_its_own_checks() -> None:
    """An N-body model checks its tensors once per call; a graph layer called on its own checks its
    graph, and an unchecked layer (``validate = False``, as a model that owns it sets) computes the
    same."""
    model, x = _model(torch.float64), _systems()
    with mock.patch.object(egnn, "_check_systems", wraps=egnn._check_systems) as check:
        model(*x)
    assert check.call_count == 1
    edges = complete_graph(1, 5)
    layer = EGNNLayer(8, edge_dim=2).double()
    assert layer.validate
    h, pos, v = (torch.randn(5, k, dtype=torch.float64) for k in (8, 3, 3))
    attr = torch.randn(edges.shape[1], 2, dtype=torch.float64)
    with mock.patch.object(egnn, "_check_graph", wraps=egnn._check_graph) as check:
        checked = layer(h, pos, v, edges, attr)
        with pytest.raises(ValueError, match="velocities"):
            layer(h, pos, v[:, :2], edges, attr)
        with pytest.raises(ValueError, match=r"edge_index must be a long tensor \[2, E\]"):
            layer(h, pos, v, edges.float(), attr)
        layer.validate = False
        unchecked = layer(h, pos, v, edges, attr)
    assert check.call_count == 3
    assert all(torch.equal(a, b) for a, b in zip(checked, unchecked))
