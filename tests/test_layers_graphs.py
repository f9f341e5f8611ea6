"""symlib.layers.graphs: message passing against a per-node loop, equivariance under relabelling
on batches of graphs of different sizes (float32 and float64), the 1-WL blind spot, bad inputs."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from torch_geometric.data import Batch, Data

from symlib.data.graphs import cycle_graph, erdos_renyi
from symlib.equivariance import equivariance_error
from symlib.groups import GraphPermutation, Permutation
from symlib.layers import graphs, sets
from symlib.layers.graphs import GNN, AdjacencyMLP, MessagePassingLayer, check_graph

from helpers import assert_broken, assert_equivariant, assert_invariant, assert_matches

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
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


@pytest.mark.parametrize("aggr", AGGR)
def test_layer_matches_the_equation_node_by_node(dtype: torch.dtype, aggr: str) -> None:
    torch.manual_seed(0)
    layer = MessagePassingLayer(3, 4, aggr=aggr).to(dtype)
    g = _batch(dtype)
    assert_matches(layer(g.x, g.edge_index), _loop(layer, g.x, g.edge_index), dtype=dtype)


@pytest.mark.parametrize("aggr", AGGR)
def test_relabelling_a_batch_of_graphs(dtype: torch.dtype, aggr: str) -> None:
    torch.manual_seed(0)
    g = _batch(dtype)
    act = GraphPermutation(g.num_nodes)
    layer = MessagePassingLayer(3, 4, aggr=aggr).to(dtype)
    node_model = GNN(3, 2, hidden=8, layers=2, aggr=aggr).to(dtype)
    graph_model = GNN(3, 2, hidden=8, layers=2, aggr=aggr, pool=aggr).to(dtype)
    nodes = Permutation(g.num_nodes)
    assert_equivariant(lambda d: layer(d.x, d.edge_index), g, act, nodes, dtype=dtype)
    assert_equivariant(lambda d: node_model(d.x, d.edge_index, d.batch), g, act, nodes, dtype=dtype)
    assert_invariant(lambda d: graph_model(d.x, d.edge_index, d.batch), g, act, dtype=dtype)


def test_batch_equals_one_graph_at_a_time(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = GNN(3, 2, hidden=8, layers=2, pool="mean").to(dtype)
    g = _batch(dtype)
    ref = torch.cat([model(d.x, d.edge_index) for d in g.to_data_list()])
    assert_matches(model(g.x, g.edge_index, g.batch), ref, dtype=dtype)


@pytest.mark.parametrize("aggr", AGGR)
def test_message_passing_cannot_tell_a_hexagon_from_two_triangles(aggr: str) -> None:
    # both graphs are 2-regular with identical features: 1-WL, and so message passing, sees no difference
    torch.manual_seed(0)
    model = GNN(1, 3, hidden=8, layers=3, aggr=aggr, pool="sum").double()
    x = torch.ones(6, 1, dtype=torch.float64)
    two_triangles = torch.cat([cycle_graph(3), cycle_graph(3) + 3], dim=1)
    assert torch.allclose(model(x, cycle_graph(6)), model(x, two_triangles), rtol=0, atol=1e-12)


def _hidden_states(model: GNN, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """The node states before the readout, by the equation: encoder, then :func:`_loop` per layer."""
    h = model.encoder(x)
    for layer in model.layers:
        h = _loop(layer, h, edge_index)
    return h


def test_same_weights_on_any_graph_size() -> None:
    """One set of weights serves graphs of every size: on each, the model computes the equation
    (n = 1: no messages at all), and a graph's outputs do not change when it becomes part of a bigger
    graph (a disjoint union with another graph, all nodes relabelled): messages travel along edges only."""
    torch.manual_seed(0)
    node_model = GNN(2, 3, hidden=8, layers=2).double()
    graph_model = GNN(2, 3, hidden=8, layers=2, pool="sum").double()
    graph_model.load_state_dict(node_model.state_dict())  # the same weights, sum-pooled before the readout
    gen = torch.Generator().manual_seed(0)
    m = 13
    other = Data(x=torch.randn(m, 2, generator=gen, dtype=torch.float64), edge_index=erdos_renyi(m, 3.0, gen))
    h_other = _hidden_states(node_model, other.x, other.edge_index)
    for n in (1, 10, 200):
        x, edge_index = torch.randn(n, 2, generator=gen, dtype=torch.float64), erdos_renyi(n, 3.0, gen)
        h = _hidden_states(node_model, x, edge_index)
        out = node_model(x, edge_index)
        assert out.shape == (n, 3)
        assert_matches(out, node_model.readout(h))
        assert_matches(graph_model(x, edge_index), node_model.readout(h.sum(0, keepdim=True)))
        # the graph inside a bigger one: its union with `other`, relabelled so new node i is old node perm[i]
        union = Data(x=torch.cat([x, other.x]), edge_index=torch.cat([edge_index, other.edge_index + n], 1))
        perm = torch.randperm(n + m, generator=gen)
        bigger = GraphPermutation(n + m).act(perm, union)
        where = torch.argsort(perm)                                    # old node u is now node where[u]
        out_bigger = node_model(bigger.x, bigger.edge_index)
        assert_matches(out_bigger[where[:n]], out)
        assert_matches(out_bigger[where[n:]], node_model.readout(h_other))
        pooled = (h.sum(0) + h_other.sum(0))[None]                      # sum pooling over both parts
        assert_matches(graph_model(bigger.x, bigger.edge_index), node_model.readout(pooled))


def test_adjacency_mlp_is_not_equivariant_and_has_a_size_limit() -> None:
    torch.manual_seed(0)
    g = _batch(torch.float64)
    model = AdjacencyMLP(3, 2, max_nodes=8, hidden=16).double()
    out = model(g.x, g.edge_index, g.batch)
    assert out.shape == (g.num_nodes, 2)
    assert_broken(equivariance_error(lambda d: model(d.x, d.edge_index, d.batch), g,
                                     GraphPermutation(g.num_nodes), Permutation(g.num_nodes)))
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


# --- validation at the boundary: a model checks its inputs once, its layers not again ----------------

def test_a_gnn_checks_its_inputs_once_per_call() -> None:
    """A GNN of 3 layers calls check_graph once per forward (not 1 + 3 times), and pooling checks
    nothing again: every check reads edge_index or batch, a host sync on a GPU."""
    g = _batch(torch.float32)
    for pool in (None, "sum"):
        model = GNN(3, 2, hidden=4, layers=3, pool=pool)
        assert not any(layer.validate for layer in model.layers)
        with mock.patch.object(graphs, "check_graph", wraps=graphs.check_graph) as check, \
                mock.patch.object(graphs, "check_sets", wraps=graphs.check_sets) as check_x, \
                mock.patch.object(sets, "check_sets", wraps=sets.check_sets) as check_pool:
            model(g.x, g.edge_index, g.batch)
        assert (check.call_count, check_x.call_count, check_pool.call_count) == (1, 1, 0)


def test_a_gnn_still_names_bad_inputs_with_its_own_name() -> None:
    model = GNN(3, 1, hidden=4, layers=3)
    with pytest.raises(ValueError, match="GNN: edge_index names nodes 0 … 4, but x has 4 nodes"):
        model(torch.randn(4, 3), cycle_graph(5))
    with pytest.raises(ValueError, match="GNN: batch has 3 entries"):
        model(torch.randn(4, 3), cycle_graph(4), torch.zeros(3, dtype=torch.long))


def test_a_layer_alone_checks_its_inputs_and_unchecked_gives_the_same_output() -> None:
    layer = MessagePassingLayer(3, 2)
    assert layer.validate
    with mock.patch.object(graphs, "check_graph", wraps=graphs.check_graph) as check:
        with pytest.raises(ValueError, match="MessagePassingLayer: edge_index names nodes 0 … 4"):
            layer(torch.randn(4, 3), cycle_graph(5))
    assert check.call_count == 1
    g = _batch(torch.float64)
    layer = layer.double()
    checked = layer(g.x, g.edge_index)
    layer.validate = False
    with mock.patch.object(graphs, "check_graph", wraps=graphs.check_graph) as check:
        unchecked = layer(g.x, g.edge_index)
    assert check.call_count == 0 and torch.equal(checked, unchecked)
