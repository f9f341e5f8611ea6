"""Charged particles in 3D: the N-body benchmark of EGNN (Satorras et al. 2021, after Kipf et al. 2018).

Five particles with charges ±1 attract or repel each other by Coulomb's law,

.. math::  \\ddot{x}_i = F_i = \\sum_{j \\ne i} q_i q_j \\frac{x_i - x_j}{\\lVert x_i - x_j \\rVert^3},

integrated with the simulator of the original benchmark: a kick–drift (symplectic Euler) step of
``dt = 0.001`` with each force component clipped to ``±100``, snapshots every 100 steps, no bounding
box. The clip only acts in close encounters, but there it breaks both momentum conservation and
rotation symmetry (it clips along the coordinate axes); it is kept for fidelity to the benchmark.
Initial positions are standard normal, initial velocities have random directions and norm 0.5. The
task: from positions, velocities and charges at snapshot 30, predict the positions at snapshot 40,
i.e. 1,000 steps later.

All trajectories are simulated at once as batched tensors (float64), so the full 3,000 / 2,000 /
2,000 split takes seconds, not the minutes of a per-trajectory loop.

**The same bits on every machine.** The initial conditions are drawn with :mod:`symlib.portable`
(uniform bits from torch's Mersenne Twister, normals by the polar method with a ``log`` written from
correctly rounded operations), and the simulation uses only correctly rounded elementwise arithmetic
in a fixed order: no C-library function, reduction or matrix product whose rounding depends on the
machine. That matters because the system is chaotic: a last-bit difference in an initial condition
grows into a different trajectory for about one system in twenty. :func:`load` and
:func:`load_authors` mark those systems (``NBody.stable``: a perturbation of ``2⁻⁵⁰`` of the initial
positions moves the target by less than ``1e-6`` on the stable ones), so that an error can also be
reported on the part of the test set that any correct implementation reproduces. Every split is
pinned by a digest (:mod:`symlib.data.digests`). Results are cached on disk (``$SYMLIB_CACHE``,
default ``~/.cache/symlib``) under the version of this code, served only with the committed digest,
and loaded with ``weights_only=True``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import TensorDataset

from symlib import portable
from symlib.config import cache_dir
from symlib.data.digests import DIGESTS, digest
from symlib.geometry import complete_graph, random_rotations
from symlib.groups import Euclidean3d, Permutation, Product, Trivial
from symlib.symmetry import Symmetry

__all__ = ["AUTHORS_SEED", "AUTHORS_SYSTEMS", "DT", "FRAME_CONVENTIONS", "FRAME_IN", "FRAME_OUT", "MAX_FORCE",
           "Model", "NBody", "SAMPLE_EVERY", "SPLITS", "authors_initial_conditions", "forces", "generate",
           "initial_conditions", "load", "load_authors", "loss", "rotated_loss", "simulate", "split_seed",
           "symmetries"]

#: An N-body model: ``model(pos [B, n, 3], vel [B, n, 3], charges [B, n]) → positions [B, n, 3]``
#: (:mod:`symlib.layers.egnn`).
Model = Callable[[Tensor, Tensor, Tensor], Tensor]

DT = 1e-3
SAMPLE_EVERY = 100
MAX_FORCE = 0.1 / DT  # the original simulator's clip on each force component
FRAME_IN, FRAME_OUT = 30, 40
SPLITS = {"train": 3000, "valid": 2000, "test": 2000}


def forces(pos: Tensor, charges: Tensor, *, max_force: float = MAX_FORCE) -> Tensor:
    """Coulomb forces ``[B, n, 3]`` on particles at ``pos [B, n, 3]`` with ``charges [B, n]``, each
    component clipped to ``±max_force`` (``inf``: the exact, unclipped physics)."""
    return _forces(pos, _charge_products(charges)).clamp_(-max_force, max_force)


def _charge_products(charges: Tensor) -> Tensor:
    """``q_i q_j`` for every pair, ``[B, n, n]``, zero on the diagonal (no self-interaction)."""
    qq = charges[:, :, None] * charges[:, None, :]
    return qq * (1 - torch.eye(charges.shape[1], dtype=charges.dtype, device=charges.device))


def _forces(pos: Tensor, qq: Tensor) -> Tensor:
    """The unclipped Coulomb forces ``[B, n, 3]``; ``qq [B, n, n]``: products of charges with a zero
    diagonal (no self-interaction).

    Only correctly rounded elementwise operations (``+ − × ÷ √``) in a fixed order, and the sum over
    the other bodies as a loop: no reduction, power or matrix product whose rounding depends on the
    CPU's vector instructions. A chaotic system amplifies a last-bit difference into a different
    trajectory within the 4,000 steps of a sample, so this is what makes the dataset the same on
    every machine.
    """
    diff = pos[:, :, None, :] - pos[:, None, :, :]                     # x_i - x_j, [B, n, n, 3]
    r = portable.norm3(diff)
    r.diagonal(dim1=1, dim2=2).fill_(1.0)                              # avoid 0/0; qq is 0 there
    pair = (qq / (r * r * r))[..., None] * diff                        # [B, n, n, 3]
    force = pair[:, :, 0]
    for j in range(1, pos.shape[1]):
        force = force + pair[:, :, j]
    return force


def simulate(pos: Tensor, vel: Tensor, charges: Tensor, steps: int, *,
             sample_every: int = SAMPLE_EVERY, max_force: float = MAX_FORCE,
             return_clipped: bool = False) -> tuple[Tensor, ...]:
    """Integrate ``steps`` kick–drift steps of ``dt = 0.001`` from ``pos, vel [B, n, 3]``, each force
    component clipped to ``±max_force`` (``inf``: exact physics, as the benchmark's clip is not).

    Returns positions and velocities every ``sample_every`` steps, snapshot 0 being the initial state:
    ``[B, S, n, 3]`` each, ``S = steps // sample_every + 1``. With ``return_clipped``, also
    ``clipped [B, S − 1]`` (bool): ``clipped[:, k]`` says whether the clip changed some force
    component of the system in the steps from snapshot ``k`` to snapshot ``k + 1``.
    """
    if pos.shape != vel.shape or pos.dim() != 3 or pos.shape[-1] != 3:
        raise ValueError(f"pos and vel must both be [B, n, 3], got {tuple(pos.shape)} and {tuple(vel.shape)}")
    if charges.shape != pos.shape[:2]:
        raise ValueError(f"charges must be [B, n] = {list(pos.shape[:2])}, got {tuple(charges.shape)}")
    pos, vel = pos.clone(), vel.clone()
    qq = _charge_products(charges.to(pos.dtype))
    out_pos, out_vel, out_clipped = [pos.clone()], [vel.clone()], []
    clipped = torch.zeros(pos.shape[0], dtype=torch.bool, device=pos.device)

    def kick() -> None:
        nonlocal clipped
        force = _forces(pos, qq)
        if return_clipped:
            clipped = clipped | (force.abs() > max_force).flatten(1).any(1)
        vel.add_(DT * force.clamp_(-max_force, max_force))

    kick()
    for step in range(1, steps + 1):
        pos += DT * vel
        if step % sample_every == 0:
            out_pos.append(pos.clone())
            out_vel.append(vel.clone())
            out_clipped.append(clipped)
            clipped = torch.zeros_like(clipped)
        kick()
    if return_clipped:
        intervals = torch.stack(out_clipped, 1) if out_clipped else clipped[:, None][:, :0]
        return torch.stack(out_pos, 1), torch.stack(out_vel, 1), intervals
    return torch.stack(out_pos, 1), torch.stack(out_vel, 1)


def initial_conditions(num: int, n: int = 5, *, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """Positions ``~ N(0, 1)``, velocities of norm 0.5 in random directions, charges ``±1`` (float64;
    normals from :func:`symlib.portable.randn`: the same bits on every machine)."""
    pos = portable.randn(num, n, 3, generator=generator, dtype=torch.float64)
    vel = portable.randn(num, n, 3, generator=generator, dtype=torch.float64)
    vel = 0.5 * vel / portable.norm3(vel)[..., None]
    charges = torch.randint(0, 2, (num, n), generator=generator).to(torch.float64) * 2 - 1
    return pos, vel, charges


#: A system is *stable* if a relative perturbation of ``PERTURBATION`` of its initial positions moves
#: its target (float64) by less than ``STABLE_TOLERANCE``: its target is then reproducible by any
#: correct implementation, whatever the rounding of its arithmetic.
PERTURBATION, STABLE_TOLERANCE = 2.0**-50, 1e-6


@dataclass(frozen=True)
class NBody:
    """One split: inputs at snapshot 30 and targets at snapshot 40.

    Attributes:
        pos, vel: ``[S, 5, 3]`` float32 positions and velocities at snapshot 30.
        charges: ``[S, 5]`` float32, ``±1``.
        target: ``[S, 5, 3]`` float32 positions at snapshot 40.
        stable: ``[S]`` bool, whether each system is stable (:data:`PERTURBATION`), or ``None`` where
            not computed (:func:`load` and :func:`load_authors` compute it).
    """

    pos: Tensor
    vel: Tensor
    charges: Tensor
    target: Tensor
    stable: Tensor | None = None

    def __len__(self) -> int:
        return self.pos.shape[0]

    def _tensors(self) -> tuple[Tensor, ...]:
        return tuple(t for t in (self.pos, self.vel, self.charges, self.target, self.stable) if t is not None)

    def subset(self, num: int) -> NBody:
        """The first ``num`` systems (for data-efficiency curves)."""
        if not 0 < num <= len(self):
            raise ValueError(f"num must be in 1..{len(self)}, got {num}")
        return NBody(*(None if t is None else t[:num] for t in self._fields()))

    def _fields(self) -> tuple[Tensor | None, ...]:
        return (self.pos, self.vel, self.charges, self.target, self.stable)

    def to(self, device: torch.device | str | None) -> NBody:
        """The same systems with every tensor on ``device``."""
        return NBody(*(None if t is None else t.to(device) for t in self._fields()))

    def digest(self) -> str:
        """SHA-256 of the split's tensors (:func:`symlib.data.digests.digest`): its fingerprint."""
        return digest(*self._tensors())

    def dataset(self, device: torch.device | str | None = None) -> TensorDataset:
        """``(pos, vel, charges, target)`` as a ``TensorDataset`` (on ``device``): the training data
        :func:`loss` and :func:`rotated_loss` expect, for :func:`symlib.train.fit`."""
        d = self.to(device)
        return TensorDataset(d.pos, d.vel, d.charges, d.target)

    def graphs(self) -> list:
        """One fully connected torch_geometric ``Data`` per system: ``pos, vel [5, 3]``,
        ``charges [5, 1]``, ``y [5, 3]``, ``edge_index [2, 20]``: the systems as graphs, for graph
        layers (:class:`~symlib.layers.egnn.EGNNLayer`); the N-body models take the tensors."""
        from torch_geometric.data import Data

        n = self.pos.shape[1]
        edge_index = complete_graph(1, n)
        return [Data(pos=p, vel=v, charges=q[:, None], y=t, edge_index=edge_index, num_nodes=n)
                for p, v, q, t in zip(self.pos, self.vel, self.charges, self.target)]


def _code_version() -> str:
    """A fingerprint of the code that makes the data (this module and :mod:`symlib.portable`)."""
    h = hashlib.sha256()
    for module in (__file__, portable.__file__):
        h.update(Path(module).read_bytes())
    return h.hexdigest()[:12]


def _cached(name: str, make: Callable[[], NBody], cache: bool) -> NBody:
    """``make()``, kept on disk as ``<name>-<code version>.pt`` with its digest. A file is served only
    if its contents have the digest it was saved with and, for the datasets of
    :data:`symlib.data.digests.DIGESTS`, the committed one; otherwise the data are made afresh."""
    if not cache:
        return make()
    path = cache_dir() / f"{name}-{_code_version()}.pt"
    expected = DIGESTS.get(name)
    if path.exists():
        stored = torch.load(path, weights_only=True)
        data = NBody(**stored["data"])
        if data.digest() == stored["digest"] and expected in (None, stored["digest"]):
            return data
    data = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fields = {k: getattr(data, k) for k in NBody.__dataclass_fields__}
    torch.save({"data": fields, "digest": data.digest()}, tmp)
    tmp.replace(path)
    return data


def generate(num: int, *, seed: int, n: int = 5, cache: bool = False) -> NBody:
    """Simulate ``num`` systems from seed ``seed``; with ``cache=True`` keep the result on disk
    (:func:`symlib.config.cache_dir`), so chapters that use the same systems simulate them once."""
    if num < 1:
        raise ValueError(f"num must be positive, got {num}")
    name = f"nbody-generate-{num}-{seed}" + ("" if n == 5 else f"-n{n}")
    gen = torch.Generator().manual_seed(seed)
    return _cached(name, lambda: _frames(*initial_conditions(num, n, generator=gen), offset=0), cache)


def _frames(pos0: Tensor, vel0: Tensor, charges: Tensor, *, offset: int, stability: bool = False) -> NBody:
    """Simulate from ``pos0, vel0 [S, n, 3]`` and keep snapshots ``FRAME_IN + offset`` (inputs) and
    ``FRAME_OUT + offset`` (targets) as float32; with ``stability``, also simulate from positions
    perturbed by :data:`PERTURBATION` (relative) and mark the systems whose target moved less than
    :data:`STABLE_TOLERANCE`."""
    num = len(pos0)
    if stability:
        pos0 = torch.cat([pos0, pos0 * (1 + PERTURBATION)])
        vel0, charges = vel0.repeat(2, 1, 1), charges.repeat(2, 1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of small steps: one thread is several times faster than two
    try:
        pos, vel = simulate(pos0, vel0, charges, (FRAME_OUT + offset) * SAMPLE_EVERY)
    finally:
        torch.set_num_threads(threads)
    f32, i, o = torch.float32, FRAME_IN + offset, FRAME_OUT + offset
    stable = None
    if stability:
        moved = (pos[num:, o] - pos[:num, o]).abs().flatten(1).amax(1)
        stable = moved < STABLE_TOLERANCE
    return NBody(pos[:num, i].to(f32), vel[:num, i].to(f32), charges[:num].to(f32), pos[:num, o].to(f32),
                 stable)


def split_seed(split: str, seed: int = 0) -> int:
    """The seed :func:`load` simulates ``split`` with: each split its own, derived from ``seed``, so
    that no system is in two splits. ``generate(n, seed=split_seed(split))`` gives its first ``n``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {list(SPLITS)}")
    return int(hashlib.sha1(f"nbody:{seed}:{split}".encode()).hexdigest()[:8], 16)


def load(split: str, num: int | None = None, *, seed: int = 0, frames: str = "book",
         cache: bool = True) -> NBody:
    """The ``"train"`` (3,000), ``"valid"`` (2,000) or ``"test"`` (2,000) split, or its first ``num``.

    Each split has its own seed derived from ``seed``, so they never share a system. ``frames``:
    this book's (inputs after 3,000 simulator steps, targets after 4,000) or ``"authors"`` (after
    3,100 and 4,100, as in the authors' files, :func:`load_authors`): the same systems, so the two
    conventions can be compared on one draw. Generated once and cached on disk; ``cache=False``
    always simulates.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {list(SPLITS)}")
    if frames not in FRAME_CONVENTIONS:
        raise ValueError(f"unknown frames {frames!r}: expected one of {list(FRAME_CONVENTIONS)}")
    size = SPLITS[split] if num is None else num
    if not 0 < size <= SPLITS[split]:
        raise ValueError(f"num must be in 1..{SPLITS[split]} for split {split!r}, got {num}")
    gen = torch.Generator().manual_seed(split_seed(split, seed))
    offset = FRAME_CONVENTIONS[frames]
    name = f"nbody-{split}-{seed}" + ("" if frames == "book" else f"-{frames}-frames")
    data = _cached(name, lambda: _frames(*initial_conditions(SPLITS[split], generator=gen), offset=offset,
                                         stability=True), cache)
    return data if num is None else data.subset(num)


#: Which snapshots are a system's input and target: ``FRAME_IN + offset`` and ``FRAME_OUT + offset``.
FRAME_CONVENTIONS = {"book": 0, "authors": 1}


#: The authors' ``nbody_small`` files (``generate_dataset.py --num-train 10000 --seed 43``): numpy's
#: global generator seeded with 43 draws 10,000 training, then 2,000 validation, then 2,000 test systems,
#: of which their loader keeps the first 3,000 training systems.
AUTHORS_SEED = 43
AUTHORS_SYSTEMS = {"train": 10_000, "valid": 2_000, "test": 2_000}


def authors_initial_conditions(split: str, num: int | None = None, *,
                               normals: Callable[..., Any] = portable.legacy_randn
                               ) -> tuple[Tensor, Tensor, Tensor]:
    """The initial ``pos, vel [S, 5, 3]`` and ``charges [S, 5]`` (float64) of the first ``num`` systems
    of the authors' ``split`` (``None``: all of it), drawn from the same random stream as theirs.

    Their simulator draws, per system and in this order, the charges (``np.random.choice`` of ``±1``
    with probability ½ each: one uniform number per particle), positions ``randn(3, 5)``, velocities
    ``randn(3, 5)`` rescaled to norm 0.5, and then two ``randn(49, 3, 5)`` arrays of observation noise
    that it multiplies by zero. numpy keeps its legacy stream fixed across releases, but ``randn``'s
    values go through the C library's ``log``: the positions and velocities are replayed with a
    correctly rounded one (:func:`symlib.portable.legacy_randn`), the same on every machine and equal
    to numpy's own wherever the C library's ``log`` is correctly rounded; the discarded noise is
    skipped without computing it (:func:`symlib.portable.legacy_skip`). ``normals(rng, *size)`` draws
    the normals: ``scripts/replay_check.py`` passes numpy's own ``randn``, through this machine's C
    library, to measure the difference.
    """
    import numpy as np

    if split not in AUTHORS_SYSTEMS:
        raise ValueError(f"unknown split {split!r}: expected one of {list(AUTHORS_SYSTEMS)}")
    total = AUTHORS_SYSTEMS[split]
    num = total if num is None else num
    if not 0 < num <= total:
        raise ValueError(f"num must be in 1..{total} for the authors' {split!r} split, got {num}")
    rng, n, saved = np.random.RandomState(AUTHORS_SEED), 5, 49
    for name in list(AUTHORS_SYSTEMS)[:list(AUTHORS_SYSTEMS).index(split)]:
        for _ in range(AUTHORS_SYSTEMS[name]):                # the splits drawn before: only their stream
            rng.random_sample(n)
            portable.legacy_skip(rng, 2 * 3 * n + 2 * saved * 3 * n)
    q, x, v = np.empty((num, n)), np.empty((num, n, 3)), np.empty((num, n, 3))
    for i in range(num):
        q[i] = np.where(rng.random_sample((n, 1)) < 0.5, -1.0, 1.0)[:, 0]
        x[i] = normals(rng, 3, n).T
        vel = normals(rng, 3, n)
        v[i] = (vel * 0.5 / np.sqrt((vel * vel).sum(axis=0))).T
        portable.legacy_skip(rng, 2 * saved * 3 * n)
    return torch.from_numpy(x), torch.from_numpy(v), torch.from_numpy(q)


def load_authors(split: str, *, cache: bool = True) -> NBody:
    """The ``"train"`` (3,000), ``"valid"`` or ``"test"`` (2,000) split of the authors' dataset: their
    initial conditions (:func:`authors_initial_conditions`) and their frames.

    Their simulator overwrites its first snapshot, so their frame ``k`` is the state after
    ``100 (k + 1)`` steps: inputs after 3,100 steps, targets after 4,100, where :func:`load` takes
    3,000 and 4,000. The trajectories are this module's arithmetic, not theirs; the system is chaotic,
    so the systems with close encounters can end elsewhere than in their files.
    """
    size = SPLITS.get(split)
    if size is None:
        raise ValueError(f"unknown split {split!r}: expected one of {list(SPLITS)}")

    def make() -> NBody:
        return _frames(*authors_initial_conditions(split, size), offset=FRAME_CONVENTIONS["authors"],
                       stability=True)

    return _cached(f"nbody-authors-{split}", make, cache)


def loss(model: Model, batch: Sequence[Tensor]) -> Tensor:
    """Mean squared error of the predicted positions ``model(pos, vel, charges)``; ``batch = (pos, vel,
    charges, target)`` as from ``TensorDataset(pos, vel, charges, target)``: the training loss of the
    N-body chapters."""
    pos, vel, charges, target = batch
    return F.mse_loss(model(pos, vel, charges), target)


def rotated_loss(model: Model, batch: Sequence[Tensor]) -> Tensor:
    """:func:`loss` after turning each system (positions, velocities and target alike) by its own
    random rotation, uniform on SO(3), from torch's global RNG: rotation augmentation.

    The rotations come from three uniforms per system (:func:`symlib.portable.rotations_from_uniform`,
    drawn on the batch's device), so the loss traces under ``vmap``: :func:`symlib.seeds.train_seeds`
    can train seeds of an augmented model together, each drawing its own rotations."""
    pos, vel, charges, target = batch
    u = torch.rand(len(pos), 3, dtype=torch.float64, device=pos.device)
    r = portable.rotations_from_uniform(u).mT.to(pos)                 # x ↦ x Rᵀ for row vectors
    return loss(model, (pos @ r, vel @ r, charges, target @ r))


def symmetries(n: int = 5, *, samples: int = 8, seed: int = 0,
               output: str = "positions") -> list[Symmetry]:
    """The transformations of an N-body problem, as rows for :func:`symlib.audit.audit` of a model
    of ``(pos, vel, charges)`` (``[B, n, 3]``, ``[B, n, 3]``, ``[B, n]``; applied as
    ``model(pos, vel, charges)``): rotations, reflections (a rotation followed by ``x ↦ −x``),
    translations and relabellings of the ``n`` particles, ``samples`` seeded elements each.

    Positions move with each element, velocities turn and charges stay. ``output="positions"``
    audits the predicted positions (they move like positions); ``"displacement"`` audits the
    predicted motion ``model(pos, vel, charges) − pos``, which turns like a vector and ignores
    translations.
    """
    if output not in ("positions", "displacement"):
        raise ValueError(f"output must be 'positions' or 'displacement', got {output!r}")
    f64 = torch.float64
    gen = torch.Generator().manual_seed(seed)
    eye, zero = torch.eye(3, dtype=f64), torch.zeros(3, dtype=f64)
    rotations = random_rotations(samples, gen)
    elements = {
        "rotation": [(r, zero) for r in rotations],
        "reflection": [(-r, zero) for r in random_rotations(samples, gen)],
        "translation": [(eye, t) for t in portable.randn(samples, 3, generator=gen, dtype=f64)],
    }
    e3 = Euclidean3d(reflections=True)
    out = e3.on_vectors() if output == "displacement" else e3

    def call(model: Model, x: Sequence[Tensor]) -> Tensor:
        pred = model(*x)
        return pred - x[0] if output == "displacement" else pred

    rows = [Symmetry(name, Product(e3, e3.on_vectors(), Trivial()), out, els, call)
            for name, els in elements.items()]
    relabel = Permutation(n, dim=1)
    perms = [relabel.sample(gen) for _ in range(samples)]
    rows.append(Symmetry("relabelling", Product(relabel, relabel, relabel), relabel, perms, call))
    return rows
