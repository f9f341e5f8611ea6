"""Fingerprints of the book's datasets: a SHA-256 digest of each, committed here and checked by the tests.

Every generator in :mod:`symlib.data` gives the same bits on every machine (each module's docstring
says why: integer and uniform draws from torch's Mersenne Twister, transformed by correctly rounded
arithmetic and :mod:`symlib.portable`). This table is the proof that can fail: ``tests/test_data_digests``
regenerates every dataset below without any cache and compares. ``scripts/reproduce.py`` records the
digests of the splits it trained and tested on, and the N-body cache serves a file only if its
contents have the digest committed here.

Update the table after an intended change of the data (then re-run what the change invalidates)::

    python -m symlib.data.digests            # prints every digest; --check compares
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["DIGESTS", "RECIPES", "compute", "digest"]


def digest(*tensors: Tensor) -> str:
    """SHA-256 (hex) of tensors' dtypes, shapes and bytes, in order: equal exactly when every tensor
    has the same dtype, shape and bits."""
    h = hashlib.sha256()
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"digest takes tensors, got {type(t).__name__}")
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _tensors(data: object) -> tuple[Tensor, ...]:
    """The tensors of a dataset, whatever container it comes in, in a fixed order."""
    if isinstance(data, Tensor):
        return (data,)
    if hasattr(data, "tensors"):                                   # TensorDataset
        return tuple(data.tensors)
    if hasattr(data, "__dataclass_fields__"):                      # NBody, RingMolecules
        return tuple(t for k in data.__dataclass_fields__ if isinstance(t := getattr(data, k), Tensor))
    if isinstance(data, (tuple, list)):
        if data and hasattr(data[0], "to_dict"):                   # torch_geometric Data objects
            return tuple(v for d in data for _, v in sorted(d.to_dict().items()) if isinstance(v, Tensor))
        return tuple(t for item in data for t in _tensors(item))
    raise TypeError(f"cannot fingerprint a {type(data).__name__}")


def _recipes() -> dict[str, Callable[[], object]]:
    from symlib.data import digits, graphs, images, mnist1d, molecules, nbody, proteins, sets, spins

    def gen(seed: int) -> torch.Generator:
        return torch.Generator().manual_seed(seed)

    return {
        # chapter 01
        "photo-64": lambda: images.photo(64),
        # chapter 03 and the MNIST-1D reproduction
        "mnist1d": lambda: mnist1d.load(),
        # chapter 04
        "digit-sets-train-4000": lambda: sets.flatten(sets.digit_sets(4_000, (1, 10), split="train", seed=0)),
        "digit-sets-test-200": lambda: [sets.flatten(sets.digit_sets(200, n, split="test", seed=1_000 + n))
                                        for n in (1, 2, 5, 10, 20, 30, 50)],
        "distance-graphs-train-2000": lambda: graphs.distance_graphs(2_000, (5, 10), seed=0),
        "distance-graphs-test-100": lambda: [graphs.distance_graphs(100, n, seed=1_000 + n)
                                             for n in (5, 10, 20, 50, 100, 200)],
        # chapters 05, 09, 10 (ci) and the N-body reproductions (full splits, authors' systems)
        "nbody-generate-500-1": lambda: nbody.generate(500, seed=1),
        "nbody-generate-200-2": lambda: nbody.generate(200, seed=2),
        "nbody-generate-2-0": lambda: nbody.generate(2, seed=0),
        **{f"nbody-{s}-0": lambda s=s: nbody.load(s, cache=False) for s in nbody.SPLITS},
        **{f"nbody-{s}-0-authors-frames": lambda s=s: nbody.load(s, frames="authors", cache=False)
           for s in nbody.SPLITS},
        **{f"nbody-test-{k}-authors-frames": lambda k=k: nbody.load("test", seed=k, frames="authors",
                                                                     cache=False) for k in (1, 2, 3)},
        **{f"nbody-authors-{s}": lambda s=s: nbody.load_authors(s, cache=False) for s in nbody.SPLITS},
        "backbone-16": lambda: proteins.random_backbone(16, generator=gen(0)),
        # chapter 07
        "digits-500-0": lambda: digits.load(test_size=500, seed=0),
        # chapter 08
        "molecules-2000-0": lambda: molecules.ring_molecules(2_000, seed=0),
        "molecules-1000-1": lambda: molecules.ring_molecules(1_000, seed=1),
        "molecules-64-8-2": lambda: molecules.ring_molecules(64, sizes=(8,), seed=2, dtype=torch.float64),
        "molecules-300-6-5": lambda: molecules.ring_molecules(300, sizes=(6,), seed=5),
        "hexagons-2000-10": lambda: molecules.hexagons(2_000, seed=10),
        "hexagons-500-11": lambda: molecules.hexagons(500, seed=11),
        # chapter 11
        "spins-test-1000-16": lambda: spins.configurations(1_000, 16, generator=gen(1)),
        "spins-train-16": lambda: [spins.dataset(n, 16, seed=100 + s)
                                    for n in (32, 128, 512) for s in (0, 1, 2)],
    }


#: How each dataset of the table is made (the chapters' ``ci`` draws, the reproductions' splits).
RECIPES: dict[str, Callable[[], object]] = {}

#: The committed digests, by dataset (see :func:`compute`).
DIGESTS: dict[str, str] = {
    "photo-64": "1fef7cd49561a4230bc0ad2bec4bbb30d6a43ae170d9b588b84241432c0327f6",
    "mnist1d": "47abae5f0779c90ab02b83960dbd21f98fc5c2572a32f4900b1918e4a81dcc99",
    "digit-sets-train-4000": "603273bd046b50691f063ebe7f9405d8ad666b55267d99bcacc59ff9db5a3a39",
    "digit-sets-test-200": "f402f508a35d73ad40c3cf9097b7ef2082123400a864d96c9162adee60f51194",
    "distance-graphs-train-2000": "7aabed3e0d79758ea16feba564d82d2b43b4d12a1ab8a346cf2dad12365a2ebb",
    "distance-graphs-test-100": "bfc449d1d587639537b4216889627052bd145c0bd7915f87966574382d7d1944",
    "nbody-generate-500-1": "6f873d057faaaeba28f2b798a406a973b43a4198e8ea6e113acd3758e077efcd",
    "nbody-generate-200-2": "d15043dc5b01c04ef03c40f32c30d301acfaf904bf63d83fe2a64a97073b2d8c",
    "nbody-generate-2-0": "f1a7a4de9134265a6ed9747c14387d45c72e1aa22df3240496bd3263a638d98b",
    "nbody-train-0": "97e1717cd87eb63803881830a2f8ddbe742e649d8d59181c6542937849d5dc0e",
    "nbody-valid-0": "16990b81d990544357052c50887420206f1c6d661d919dd0d5e603497e1dafac",
    "nbody-test-0": "a311cd3ec1e10591669b6114b19ad22c83e2c026feeeadae13207311d440f40c",
    "nbody-train-0-authors-frames": "ad7e23fd45fddbef98e7b2b8905585c05a7c1fff16918378cb2b52c618ae087e",
    "nbody-valid-0-authors-frames": "02e3ae83678998ec019bcf2c9a977885abcd86c7ef8d1b4c0ef0ae7420c14c9a",
    "nbody-test-0-authors-frames": "47648188f2f143c7a1ba0a95b25b1f8bb85d18c70125836379e5fcff1d32cad2",
    "nbody-test-1-authors-frames": "13e3fab9b49963f147608d9afb1562f0ce6bf29d23b46eb03ce9a0a7bc27f9da",
    "nbody-test-2-authors-frames": "81f088ed80f00d6d608c7f7e57a62268ceaf2e2862f6fdd4eb9555d854baac61",
    "nbody-test-3-authors-frames": "7f173256d0fc1ecec31b7777cfd0a23b80188b3d7e7466506e1afbdeecb83145",
    "nbody-authors-train": "1e918729e1d947116ad18543b4e7698af47d2c3158076c175eda2b5d415287f8",
    "nbody-authors-valid": "dde072a4d8e0cea838accc91f5312160571b517c870d22fea415d3c4e722c4ff",
    "nbody-authors-test": "22d58b8dd332c7434c30f98510be28dbdcf89be0b0c526cf09c29e8539741bc8",
    "backbone-16": "e1b27631f5a84b09b1c78871b3d0c89a19ba7f5a4773d939376de65db4074f2e",
    "digits-500-0": "15101922a0583dbf07fea3993f09b13cedc7b6bf67815bcf034d4acc365e173b",
    "molecules-2000-0": "eedf5c9ba57a1bc307c497c0de6074ecac685d08d321313d0273cac27ab995e4",
    "molecules-1000-1": "6e3cbfcb04a6a8d7c5cddcb45b47c92b306c18f3afa7bca4de8fa9b74b3484a5",
    "molecules-64-8-2": "4f6a1e3b171d32c3513e2c4e2883d6d0570692f6cd26d8b4baf327c5d8441b12",
    "molecules-300-6-5": "0362e81983047ada53ce88a10079cace257d6c57b474c8a7ab69411accb7d71f",
    "hexagons-2000-10": "3275d65970e52b58cab52693c7d53b24752c5a9b16fc9687af020069f0b77e92",
    "hexagons-500-11": "df2ed9e138f6215831a83e41597a961916b112af3a1edd152aeeb02a42afa961",
    "spins-test-1000-16": "a18381f82acdb4b8cb21b17a3dc770bbf519ab73b25902616665e6dffe4e1a74",
    "spins-train-16": "e2db845c5156e5d9b6732d2553be55a10c79cf22b2e0459d44a8b4669cf76a97",
}

#: Datasets that take more than a few seconds to make: the full N-body splits, with their stability.
SLOW = ("nbody-train-0", "nbody-valid-0", "nbody-test-0", "nbody-train-0-authors-frames",
        "nbody-valid-0-authors-frames", "nbody-test-0-authors-frames", "nbody-authors-train",
        "nbody-authors-valid", "nbody-authors-test")


def compute(name: str) -> str:
    """Make dataset ``name`` afresh (no cache) and return its digest."""
    if not RECIPES:
        RECIPES.update(_recipes())
    if name not in RECIPES:
        raise KeyError(f"unknown dataset {name!r}: expected one of {sorted(RECIPES)}")
    return digest(*_tensors(RECIPES[name]()))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    RECIPES.update(_recipes())
    bad = 0
    for name in RECIPES:
        d = compute(name)
        same = DIGESTS.get(name) == d
        bad += not same
        print(f'    "{name}": "{d}",' + ("" if same or "--check" not in argv else "   # differs"))
    return int(bad > 0 and "--check" in argv)


if __name__ == "__main__":
    raise SystemExit(main())
