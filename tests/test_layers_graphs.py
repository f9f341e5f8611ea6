"""symlib.layers.graphs: message passing against a per-node loop, equivariance under relabelling
on batches of graphs of different sizes (float32 and float64), the 1-WL blind spot, bad inputs."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

from symlib.data.graphs import cycle_graph, erdos_renyi
from symlib.equivariance import equivariance_error, invariance_error, relative_error, tolerance
from symlib.groups import GraphPermutation, Permutation
from symlib.layers.graphs import GNN, AdjacencyMLP, MessagePassingLayer, check_graph

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
DTYPES = [torch.float32, torch.float64]
AGGR = ["sum", "mean", "max"]


def _batch(dtype: torch.dtype, features: int = 3) -> Batch:
    gen = torch.Generator().manual_seed(0)
    graphs = [Data(x=torch.randn(n, features, generator=gen, dtype=dtype),
                   edge_index=erdos_renyi(n, 2.5, gen)) for n in (4, 7, 1, 5)]
    return Batch.from_data_list(graphs)


def _loop(layer: MessagePassingLayer, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """h_v' = UPDATE(h_v, AGG{φ(h_u) : u → v}), one node at a time."""
    out = []
    for v in range(x.shape[0]):
        msgs = layer.phi(x[edge_index[0, edge_index[1] == v]])
        if msgs.shape[0] == 0:
            agg = x.new_zeros(layer.out_features)
        else:
            agg = {"sum": msgs.sum(0), "mean": msgs.mean(0), "max": msgs.amax(0)}[layer.aggr]
        out.append(torch.relu(layer.lin(torch.cat([x[v], agg]))))
    return torch.stack(out)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("aggr", AGGR)
def test_layer_matches_the_equation_node_by_node(dtype: torch.dtype, aggr: str) -> None:
    torch.manual_seed(0)
    layer = MessagePassingLayer(3, 4, aggr=aggr).to(dtype)
    g = _batch(dtype)
    assert relative_error(layer(g.x, g.edge_index), _loop(layer, g.x, g.edge_index)) < tolerance(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("aggr", AGGR)
def test_relabelling_a_batch_of_graphs(dtype: torch.dtype, aggr: str) -> None:
    torch.manual_seed(0)
    g = _batch(dtype)
    act = GraphPermutation(g.num_nodes)
    layer = MessagePassingLayer(3, 4, aggr=aggr).to(dtype)
    node_model = GNN(3, 2, hidden=8, layers=2, aggr=aggr).to(dtype)
    graph_model = GNN(3, 2, hidden=8, layers=2, aggr=aggr, pool=aggr).to(dtype)
    results = [
        equivariance_error(lambda d: layer(d.x, d.edge_index), g, act, Permutation(g.num_nodes)),
        equivariance_error(lambda d: node_model(d.x, d.edge_index, d.batch), g, act, Permutation(g.num_nodes)),
        invariance_error(lambda d: graph_model(d.x, d.edge_index, d.batch), g, act),
    ]
    assert all(r.holds and r.dtype == dtype for r in results), [str(r) for r in results]


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_equals_one_graph_at_a_time(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = GNN(3, 2, hidden=8, layers=2, pool="mean").to(dtype)
    g = _batch(dtype)
    ref = torch.cat([model(d.x, d.edge_index) for d in g.to_data_list()])
    assert relative_error(model(g.x, g.edge_index, g.batch), ref) < tolerance(dtype)


@pytest.mark.parametrize("aggr", AGGR)
def test_message_passing_cannot_tell_a_hexagon_from_two_triangles(aggr: str) -> None:
    # both graphs are 2-regular with identical features: 1-WL, and so message passing, sees no difference
    torch.manual_seed(0)
    model = GNN(1, 3, hidden=8, layers=3, aggr=aggr, pool="sum").double()
    x = torch.ones(6, 1, dtype=torch.float64)
    two_triangles = torch.cat([cycle_graph(3), cycle_graph(3) + 3], dim=1)
    assert torch.allclose(model(x, cycle_graph(6)), model(x, two_triangles), rtol=0, atol=1e-12)


def test_same_weights_on_any_graph_size() -> None:
    torch.manual_seed(0)
    model = GNN(2, 1, hidden=8, layers=2, pool="sum")
    for n in (1, 10, 200):
        assert model(torch.randn(n, 2), erdos_renyi(n, 3.0, torch.Generator().manual_seed(n))).shape == (1, 1)


def test_adjacency_mlp_is_not_equivariant_and_has_a_size_limit() -> None:
    torch.manual_seed(0)
    g = _batch(torch.float64)
    model = AdjacencyMLP(3, 2, max_nodes=8, hidden=16).double()
    out = model(g.x, g.edge_index, g.batch)
    assert out.shape == (g.num_nodes, 2)
    err = equivariance_error(lambda d: model(d.x, d.edge_index, d.batch), g, GraphPermutation(g.num_nodes),
                             Permutation(g.num_nodes))
    assert err.max > 1e-3
    with pytest.raises(ValueError, match="more than max_size=8"):
        model(torch.randn(9, 3, dtype=torch.float64), cycle_graph(9))


def test_gradients_flow_through_every_aggregation() -> None:
    for aggr in AGGR:
        model = GNN(3, 1, hidden=4, layers=2, aggr=aggr, pool=aggr)
        g = _batch(torch.float32)
        model(g.x, g.edge_index, g.batch).sum().backward()
        assert all(p.grad is not None for p in model.parameters())


BAD_GRAPHS = [
    ((torch.randn(4, 2), cycle_graph(4)), "expects 3 features"),
    ((torch.randn(4, 3), cycle_graph(5)), "names nodes 0 … 4, but x has 4 nodes"),
    ((torch.randn(4, 3), cycle_graph(4) - 1), "names nodes -1"),
    ((torch.randn(4, 3), cycle_graph(4).float()), r"LongTensor \[2, E\]"),
    ((torch.randn(4, 3), cycle_graph(4).T), r"LongTensor \[2, E\]"),
]
BAD_BATCHES = [
    ((torch.randn(4, 3), cycle_graph(4), torch.zeros(3, dtype=torch.long)), "batch has 3 entries"),
    ((torch.randn(4, 3), cycle_graph(4), torch.zeros(4, dtype=torch.int32)), "LongTensor"),
    ((torch.randn(4, 3), cycle_graph(4), torch.tensor([0, 0, -1, 0])), "negative"),
]


@pytest.mark.parametrize("args,match", BAD_GRAPHS)
@pytest.mark.parametrize("make", [lambda: MessagePassingLayer(3, 2), lambda: GNN(3, 1, hidden=4),
                                  lambda: AdjacencyMLP(3, 1, 6, hidden=4)])
def test_bad_graphs_are_named(make, args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()(*args)


@pytest.mark.parametrize("args,match", BAD_BATCHES)
@pytest.mark.parametrize("make", [lambda: GNN(3, 1, hidden=4), lambda: AdjacencyMLP(3, 1, 6, hidden=4)])
def test_bad_batches_are_named(make, args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make()(*args)
    with pytest.raises(ValueError, match=match):
        check_graph(*args)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown aggregation"):
        MessagePassingLayer(2, 2, aggr="min")
    with pytest.raises(ValueError, match="unknown pooling"):
        GNN(2, 1, pool="attention")
