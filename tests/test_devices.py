"""Every model family on every device torch sees here: the CPU always, CUDA where there is one.

A Colab reader runs the chapters on a GPU with the book's defaults: deterministic algorithms on
(:func:`symlib.setup`), TF32 off, and bf16 autocast in :func:`symlib.train.fit`. For each family this
checks, on each device, with deterministic algorithms on:

* forward and backward run (no kernel without a deterministic implementation, no tensor created on
  the wrong device inside a layer), in float32 and under bf16 autocast (finite gradients);
* float32 outputs agree with the CPU's to float32 rounding (relative error ≤ ``tolerance(float32)``,
  1e-5: same weights, same inputs, other kernels);
* the symmetry the family is built for holds on that device, measured by :func:`symlib.audit.audit`
  in float32 and float64 at the usual tolerances.

On a machine without CUDA only the CPU rows run, so the checks themselves are exercised everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from symlib.audit import Symmetry, audit
from symlib.data.graphs import erdos_renyi
from symlib.data.molecules import ring_molecules
from symlib.data.proteins import random_backbone
from symlib.geometry import frames_from_points
from symlib.groups import Euclidean3d, GraphPermutation, Permutation, Product, Rot90, Trivial
from symlib.layers.attention import TransformerClassifier
from symlib.layers.breaking import AtomScorer
from symlib.layers.conv import RingCNN
from symlib.layers.egnn import EGNN
from symlib.layers.gconv import GCNN
from symlib.layers.graphs import GNN
from symlib.layers.ipa import InvariantPointAttention
from symlib.layers.sets import DeepSets

from helpers import assert_matches

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def book_defaults() -> Iterator[None]:
    """Deterministic algorithms on and TF32 off, as :func:`symlib.setup` leaves them; restored after."""
    saved = (torch.are_deterministic_algorithms_enabled(), torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.use_deterministic_algorithms(saved[0])
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved[1:]


def _to(obj: Any, device: str) -> Any:
    if isinstance(obj, (tuple, list)):
        return type(obj)(_to(o, device) for o in obj)
    return obj.to(device)


def _outputs(out: Any) -> list[torch.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


@dataclass
class Family:
    """A model, an input, how to call it, and the symmetry it is built for."""

    make: Callable[[], nn.Module]
    inputs: Callable[[], Any]
    call: Callable[[nn.Module, Any], Any]
    symmetry: Symmetry | None


def _graphs() -> Batch:
    gen = torch.Generator().manual_seed(0)
    return Batch.from_data_list([Data(x=torch.randn(n, 3, generator=gen), edge_index=erdos_renyi(n, 2.5, gen))
                                 for n in (4, 7, 5)])


def _nbody() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(1, 5, 3, generator=g), torch.randn(1, 5, 3, generator=g),
            (torch.randint(0, 2, (1, 5), generator=g) * 2 - 1).float())


def _protein() -> tuple:
    g = torch.Generator().manual_seed(0)
    atoms = random_backbone(10, generator=g)
    r, t = frames_from_points(atoms[:, 0], atoms[:, 1], atoms[:, 2])
    return torch.randn(10, 8, generator=g), torch.randn(10, 10, 4, generator=g), r.float(), t.float()


def _molecules() -> tuple:
    mols = ring_molecules(4, sizes=(6, 8), seed=3)
    return mols.pos.float(), mols.types, mols.mask


def _seeded(make: Callable[[], nn.Module]) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        torch.manual_seed(0)
        return make()
    return build


RELABEL8 = Permutation(8, dim=1)
E3 = Euclidean3d(reflections=True)
FAMILIES: dict[str, Family] = {
    "p4-CNN": Family(_seeded(lambda: GCNN(1, 10, [4, 4], group="p4", padding=1)),
                     lambda: torch.randn(3, 1, 9, 9, generator=torch.Generator().manual_seed(0)),
                     lambda m, x: m(x), Symmetry("rotations by 90°", Rot90(), Trivial())),
    "DeepSets": Family(_seeded(lambda: DeepSets(3, 2, hidden=16)),
                       lambda: torch.randn(7, 3, generator=torch.Generator().manual_seed(0)),
                       lambda m, x: m(x), Symmetry("permutations", Permutation(7), Trivial())),
    "GNN": Family(_seeded(lambda: GNN(3, 2, hidden=16, aggr="max")), _graphs,
                  lambda m, d: m(d.x, d.edge_index),
                  Symmetry("relabelling", GraphPermutation(16), Permutation(16, dim=0))),
    "EGNN": Family(_seeded(lambda: EGNN(hidden=16, layers=2)), _nbody, lambda m, x: m(*x),
                   Symmetry("E(3)", Product(E3, E3.on_vectors(), Trivial()), E3)),
    "IPA": Family(_seeded(lambda: InvariantPointAttention(8, 4, c=8, heads=2, query_points=3,
                                                          value_points=3)),
                  _protein, lambda m, x: m(*x), None),
    "transformer, no positions": Family(
        _seeded(lambda: TransformerClassifier(11, 3, dim=16, heads=2, layers=1)),
        lambda: torch.randint(0, 11, (4, 8), generator=torch.Generator().manual_seed(0)),
        lambda m, x: m(x), Symmetry("token permutations", RELABEL8, Trivial())),
    "atom scorer": Family(_seeded(lambda: AtomScorer(hidden=16, layers=2)), _molecules, lambda m, x: m(*x),
                          None),
    "ring CNN": Family(_seeded(lambda: RingCNN(channels=4)),
                       lambda: torch.randn(3, 12, generator=torch.Generator().manual_seed(0)),
                       lambda m, x: m(x), None),
}


def _check_grads(name: str, model: nn.Module) -> None:
    """Gradients reached the parameters and are finite (a layer whose output the loss does not read,
    such as the last coordinate update of a model that reads only features, has none)."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads, f"{name}: no gradient reached the parameters"
    bad = [n for n, p in model.named_parameters()
           if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
    assert not bad, f"{name}: non-finite gradients in {bad}"


def _loss(out: Any) -> torch.Tensor:
    return sum(o[torch.isfinite(o)].float().square().mean() for o in _outputs(out))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", FAMILIES)
def test_forward_backward_match_the_cpu(name: str, device: str) -> None:
    fam = FAMILIES[name]
    reference = fam.call(fam.make(), fam.inputs())
    model, x = fam.make().to(device), _to(fam.inputs(), device)
    out = fam.call(model, x)
    for o in _outputs(out):
        assert o.device.type == device, f"{name}: output on {o.device}, expected {device}"
    finite = [torch.nan_to_num(o.cpu(), neginf=0.0) for o in _outputs(out)]   # masked atoms score -inf
    expected = [torch.nan_to_num(o, neginf=0.0) for o in _outputs(reference)]
    assert_matches(finite, expected, dtype=torch.float32)  # float32 here against float32 on the CPU
    _loss(out).backward()
    _check_grads(name, model)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", FAMILIES)
def test_bf16_autocast_trains(name: str, device: str) -> None:
    """What ``fit`` does by default on a GPU: forward under bf16 autocast, backward, finite gradients."""
    fam = FAMILIES[name]
    model, x = fam.make().to(device), _to(fam.inputs(), device)
    with torch.autocast(device, dtype=torch.bfloat16):
        out = fam.call(model, x)
    _loss(out).backward()
    _check_grads(name, model)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", [n for n, f in FAMILIES.items() if f.symmetry is not None])
def test_symmetry_holds_on_the_device(name: str, device: str) -> None:
    fam = FAMILIES[name]
    report = audit(fam.make().to(device), _to(fam.inputs(), device), [fam.symmetry], call=fam.call)
    assert report.rows[0].holds, f"{name} on {device}: {report}"
