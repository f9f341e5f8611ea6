"""Groups acting on tensors.

Each class here is a group *together with* its action on one kind of input. It can produce the
identity, sample random elements, compose and invert them, and act on a tensor::

    g, h = G.sample(gen), G.sample(gen)
    G.act(G.compose(g, h), x) == G.act(g, G.act(h, x))      # the action law
    G.act(G.inverse(g), G.act(g, x)) == x

Two actions of the *same* group (for example, permuting the nodes of a graph and permuting the rows
of a node-feature matrix) share elements, so ``f(g·x)`` can be compared with ``g·f(x)``; their
:attr:`Action.group` keys say whether they are the same group. :class:`Trivial` is the action that
does nothing: equivariance with a trivial output action is invariance.

Conventions (checked in ``tests/test_groups.py``):

* elements of finite groups are ints or tuples of ints (hashable, printable); permutations are
  ``LongTensor`` of shape ``[n]``; Euclidean motions are ``(R, t)`` with ``R`` of shape ``[3, 3]``
  and ``t`` of shape ``[3]``, both float64;
* ``compose(g, h)`` means "first ``h``, then ``g``";
* an action that does not fit its input raises ``ValueError`` saying what it expected.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any

import torch
from torch import Tensor

from symlib import portable
from symlib.geometry import random_rotations

__all__ = ["Action", "CyclicShift1d", "CyclicShift2d", "Dihedral4", "Element", "Euclidean3d",
           "GraphPermutation", "OnFeatureMaps", "Permutation", "Product", "Reversal", "Rot90", "SignFlip",
           "Trivial", "Zoom"]

Element = Any


def _dim_size(x: Tensor, dim: int, who: str) -> int:
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} acts on tensors, got {type(x).__name__}")
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"{who} acts on dim {dim}, but the input has shape {tuple(x.shape)}")
    return x.shape[dim]


def _randint(high: int, generator: torch.Generator | None) -> int:
    return int(torch.randint(high, (), generator=generator))


class Action(ABC):
    """A group and its action on inputs of one kind.

    Subclasses implement the group operations and :meth:`act`; :meth:`check` raises ``ValueError``
    when an input does not fit the action (wrong shape, wrong size, wrong type).
    """

    #: a hashable description of the abstract group; actions with equal keys share elements.
    group: Hashable

    @abstractmethod
    def identity(self) -> Element: ...

    @abstractmethod
    def sample(self, generator: torch.Generator | None = None) -> Element:
        """A random element (uniform for finite groups, Haar for rotations)."""

    @abstractmethod
    def compose(self, g: Element, h: Element) -> Element:
        """The element ``g·h``: act with ``h`` first, then with ``g``."""

    @abstractmethod
    def inverse(self, g: Element) -> Element: ...

    @abstractmethod
    def act(self, g: Element, x: Any) -> Any:
        """``g·x``. Raises ``ValueError`` if ``x`` does not fit (see :meth:`check`)."""

    def check(self, x: Any) -> None:
        """Raise ``ValueError`` if this action cannot act on ``x``; by default any ``x`` fits."""
        return None

    def elements(self) -> list[Element] | None:
        """All elements of a finite group (small enough to enumerate), else ``None``."""
        return None

    def equal(self, g: Element, h: Element) -> bool:
        """Whether two elements are the same group element."""
        if isinstance(g, Tensor):
            return bool(torch.equal(g, h))
        if isinstance(g, tuple) and g and isinstance(g[0], Tensor):
            return all(torch.allclose(a, b, rtol=0.0, atol=1e-12) for a, b in zip(g, h))
        return g == h

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                         if not k.startswith("_") and k != "group")
        return f"{type(self).__name__}({args})"


class Trivial(Action):
    """Every element acts as the identity. Use it as the output action to measure invariance.

    It accepts the elements of any group, so ``compose`` and ``inverse`` are placeholders.
    """

    group = None

    def identity(self) -> Element:
        return 0

    def sample(self, generator: torch.Generator | None = None) -> Element:
        return 0

    def compose(self, g: Element, h: Element) -> Element:
        return 0

    def inverse(self, g: Element) -> Element:
        return 0

    def act(self, g: Element, x: Any) -> Any:
        return x

    def elements(self) -> list[Element]:
        return [0]


class Zoom(Action):
    """Zooms of square images by an integer factor ``g``: ``g·x`` takes the central ``(side/g)²``
    window of each ``[..., side, side]`` image and repeats each of its pixels in a ``g × g`` block
    (nearest-neighbour upsampling), so that the window fills the image.

    **Not a group.** A zoom discards everything outside its window, so it has no inverse
    (:meth:`inverse` raises), and zooms compose one way only (×2 then ×3 is ×6): a semigroup, the
    pixel grid's trace of the scalings that act on continuous images. :func:`symlib.audit.audit` can
    still measure invariance to one zoom (pass ``elements=[2]``), on images blank outside the window so
    that nothing is lost. ``sample`` returns 2.
    """

    group = None

    def identity(self) -> Element:
        return 1

    def sample(self, generator: torch.Generator | None = None) -> Element:
        return 2

    def compose(self, g: Element, h: Element) -> Element:
        return g * h

    def inverse(self, g: Element) -> Element:
        raise ValueError("a zoom discards the image outside its window: it has no inverse")

    def check(self, x: Any) -> None:
        if not isinstance(x, Tensor) or x.dim() < 2 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"Zoom acts on square images [..., side, side], got "
                             f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")

    def act(self, g: Element, x: Any) -> Any:
        self.check(x)
        side = x.shape[-1]
        if not isinstance(g, int) or g < 1 or side % g:
            raise ValueError(f"a zoom needs an integer factor dividing the side {side}, got {g!r}")
        index = (side - side // g) // 2 + torch.arange(side, device=x.device) // g     # nearest neighbour
        return x[..., index[:, None], index]


class CyclicShift1d(Action):
    """The cyclic group ``Z_n`` shifting a length-``n`` signal along ``dim`` (with wrap-around).

    Element ``k`` in ``{0, …, n-1}`` maps ``x[i]`` to position ``i + k mod n`` (``torch.roll``).
    """

    def __init__(self, n: int, dim: int = -1) -> None:
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        self.n, self.dim = n, dim
        self.group = ("Z", n)

    def identity(self) -> int:
        return 0

    def sample(self, generator: torch.Generator | None = None) -> int:
        return _randint(self.n, generator)

    def compose(self, g: int, h: int) -> int:
        return (g + h) % self.n

    def inverse(self, g: int) -> int:
        return (-g) % self.n

    def elements(self) -> list[int]:
        return list(range(self.n))

    def check(self, x: Tensor) -> None:
        size = _dim_size(x, self.dim, repr(self))
        if size != self.n:
            raise ValueError(f"{self!r} acts on dim {self.dim} of size {self.n}, "
                             f"but the input has shape {tuple(x.shape)}")

    def act(self, g: int, x: Tensor) -> Tensor:
        self.check(x)
        return torch.roll(x, shifts=int(g), dims=self.dim)


class _Z2(Action):
    group = ("Z", 2)

    def identity(self) -> int:
        return 0

    def sample(self, generator: torch.Generator | None = None) -> int:
        return _randint(2, generator)

    def compose(self, g: int, h: int) -> int:
        return (g + h) % 2

    def inverse(self, g: int) -> int:
        return g

    def elements(self) -> list[int]:
        return [0, 1]


class Reversal(_Z2):
    """``Z_2`` reversing a signal along ``dim``: element 1 maps ``x[i]`` to ``x[n-1-i]`` (a mirror of a
    chain or ring; with :class:`CyclicShift1d` it generates the dihedral group of the ring)."""

    def __init__(self, dim: int = -1) -> None:
        self.dim = dim

    def act(self, g: int, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() == 0:
            raise ValueError(f"{self!r} acts on tensors with a dim {self.dim}, got {type(x).__name__}")
        return torch.flip(x, dims=(self.dim,)) if g % 2 else x


class SignFlip(_Z2):
    """``Z_2`` acting by negation: element 1 maps ``x`` to ``-x`` (e.g. flipping every spin)."""

    def act(self, g: int, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise ValueError(f"{self!r} acts on tensors, got {type(x).__name__}")
        return -x if g % 2 else x


class CyclicShift2d(Action):
    """The translation group ``Z_h × Z_w`` of an ``h × w`` torus, acting on the last two dims.

    Element ``(a, b)`` moves pixel ``(i, j)`` to ``(i + a mod h, j + b mod w)``.
    """

    def __init__(self, h: int, w: int) -> None:
        if h < 1 or w < 1:
            raise ValueError(f"grid size must be positive, got {h}×{w}")
        self.h, self.w = h, w
        self.group = ("Z", h, "Z", w)

    def identity(self) -> tuple[int, int]:
        return (0, 0)

    def sample(self, generator: torch.Generator | None = None) -> tuple[int, int]:
        return (_randint(self.h, generator), _randint(self.w, generator))

    def compose(self, g: tuple[int, int], h: tuple[int, int]) -> tuple[int, int]:
        return ((g[0] + h[0]) % self.h, (g[1] + h[1]) % self.w)

    def inverse(self, g: tuple[int, int]) -> tuple[int, int]:
        return ((-g[0]) % self.h, (-g[1]) % self.w)

    def elements(self) -> list[tuple[int, int]]:
        return [(a, b) for a in range(self.h) for b in range(self.w)]

    def check(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.dim() < 2 or tuple(x.shape[-2:]) != (self.h, self.w):
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{self!r} acts on [..., {self.h}, {self.w}] tensors, got {shape}")

    def act(self, g: tuple[int, int], x: Tensor) -> Tensor:
        self.check(x)
        return torch.roll(x, shifts=(int(g[0]), int(g[1])), dims=(-2, -1))


class _SquareAction(Action):
    def check(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.dim() < 2 or x.shape[-1] != x.shape[-2]:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{self!r} acts on square images [..., s, s], got {shape}")


class Rot90(_SquareAction):
    """The rotation group ``C4``: element ``k`` rotates square images by ``k·90°`` counter-clockwise
    in the plane of the last two dims (``torch.rot90``)."""

    group = ("C", 4)

    def identity(self) -> int:
        return 0

    def sample(self, generator: torch.Generator | None = None) -> int:
        return _randint(4, generator)

    def compose(self, g: int, h: int) -> int:
        return (g + h) % 4

    def inverse(self, g: int) -> int:
        return (-g) % 4

    def elements(self) -> list[int]:
        return [0, 1, 2, 3]

    def act(self, g: int, x: Tensor) -> Tensor:
        self.check(x)
        return torch.rot90(x, k=int(g), dims=(-2, -1))


class Dihedral4(_SquareAction):
    """The symmetry group ``D4`` of the square (8 elements) acting on square images.

    Element ``(m, k)`` with ``m ∈ {0, 1}``, ``k ∈ {0, 1, 2, 3}`` first mirrors left–right ``m`` times,
    then rotates by ``k·90°``. Since a mirror reverses the sense of rotation,
    ``(m1, k1)·(m2, k2) = (m1 + m2 mod 2, k1 + (-1)^m1 k2 mod 4)``.
    """

    group = ("D", 4)

    def identity(self) -> tuple[int, int]:
        return (0, 0)

    def sample(self, generator: torch.Generator | None = None) -> tuple[int, int]:
        return (_randint(2, generator), _randint(4, generator))

    def compose(self, g: tuple[int, int], h: tuple[int, int]) -> tuple[int, int]:
        (m1, k1), (m2, k2) = g, h
        return ((m1 + m2) % 2, (k1 + (-1) ** m1 * k2) % 4)

    def inverse(self, g: tuple[int, int]) -> tuple[int, int]:
        m, k = g
        return (m, k if m else (-k) % 4)

    def elements(self) -> list[tuple[int, int]]:
        return [(m, k) for m in range(2) for k in range(4)]

    def act(self, g: tuple[int, int], x: Tensor) -> Tensor:
        self.check(x)
        m, k = g
        if m:
            x = torch.flip(x, dims=(-1,))
        return torch.rot90(x, k=int(k), dims=(-2, -1))


class _Derived(Action):
    """An action of an existing group on other inputs: the group operations are ``self._base``'s."""

    _base: Action

    def identity(self) -> Element:
        return self._base.identity()

    def sample(self, generator: torch.Generator | None = None) -> Element:
        return self._base.sample(generator)

    def compose(self, g: Element, h: Element) -> Element:
        return self._base.compose(g, h)

    def inverse(self, g: Element) -> Element:
        return self._base.inverse(g)

    def elements(self) -> list[Element] | None:
        return self._base.elements()


class OnFeatureMaps(_Derived):
    """A rotation/mirror group acting on *group* feature maps ``[..., |H|, s, s]`` (the output of
    :mod:`symlib.layers.gconv`): every map is transformed spatially, and orientation channel ``h``
    moves to ``g·h``. Orientation ``i`` is the element ``base.elements()[i]``.

    Args:
        base: :class:`Rot90` (p4 feature maps) or :class:`Dihedral4` (p4m).
    """

    def __init__(self, base: Rot90 | Dihedral4) -> None:
        if not isinstance(base, (Rot90, Dihedral4)):
            raise TypeError(f"OnFeatureMaps needs Rot90 or Dihedral4, got {type(base).__name__}")
        self.base = self._base = base
        self.group = base.group
        self._elements = base.elements()
        self._index = {g: i for i, g in enumerate(self._elements)}

    def check(self, x: Tensor) -> None:
        order = len(self._elements)
        if not isinstance(x, Tensor) or x.dim() < 3 or x.shape[-3] != order or x.shape[-1] != x.shape[-2]:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{self!r} acts on group feature maps [..., {order}, s, s], got {shape}")

    def act(self, g: Element, x: Tensor) -> Tensor:
        self.check(x)
        y = self.base.act(g, x)
        # output orientation j = index(g·h_i) receives input orientation i
        source = [0] * len(self._elements)
        for i, h in enumerate(self._elements):
            source[self._index[self.base.compose(g, h)]] = i
        return y.index_select(-3, torch.tensor(source, device=x.device))


class _SymmetricGroup(Action):
    """Shared group operations of ``S_n``. A permutation ``p`` (``LongTensor [n]``) acts by
    ``(p·x)[i] = x[p[i]]``: new position ``i`` holds the old element ``p[i]``."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        self.n = n
        self.group = ("S", n)

    def identity(self) -> Tensor:
        return torch.arange(self.n)

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        return torch.randperm(self.n, generator=generator)

    def compose(self, g: Tensor, h: Tensor) -> Tensor:
        # (g·(h·x))[i] = (h·x)[g[i]] = x[h[g[i]]]
        return h[g]

    def inverse(self, g: Tensor) -> Tensor:
        return torch.argsort(g)

    def elements(self) -> list[Tensor] | None:
        if math.factorial(self.n) > 720:
            return None
        import itertools

        return [torch.tensor(p) for p in itertools.permutations(range(self.n))]

    def _check_perm(self, g: Tensor) -> None:
        if not isinstance(g, Tensor) or g.shape != (self.n,) or g.dtype != torch.long:
            raise ValueError(f"{self!r} expects a permutation as a LongTensor of shape [{self.n}], got {g!r}")


class Permutation(_SymmetricGroup):
    """``S_n`` permuting the ``n`` elements of a set (or the nodes' feature rows) along ``dim``."""

    def __init__(self, n: int, dim: int = 0) -> None:
        super().__init__(n)
        self.dim = dim

    def check(self, x: Tensor) -> None:
        size = _dim_size(x, self.dim, repr(self))
        if size != self.n:
            raise ValueError(f"{self!r} permutes {self.n} elements along dim {self.dim}, "
                             f"but the input has shape {tuple(x.shape)}")

    def act(self, g: Tensor, x: Tensor) -> Tensor:
        self.check(x)
        self._check_perm(g)
        return x.index_select(self.dim, g.to(x.device))


class GraphPermutation(_SymmetricGroup):
    """``S_n`` relabelling the nodes of a graph (a ``torch_geometric.data.Data``).

    Node-level tensors (``x``, ``pos``, and any attribute with ``num_nodes`` rows) are reordered so
    that new node ``i`` is old node ``p[i]``; ``edge_index`` is relabelled accordingly (edge order and
    edge attributes are kept). The graph is the same graph: only the arbitrary labels changed.
    """

    def check(self, data: Any) -> None:
        from torch_geometric.data import Data

        if not isinstance(data, Data):
            raise TypeError(f"{self!r} acts on torch_geometric Data, got {type(data).__name__}")
        if data.num_nodes != self.n:
            raise ValueError(f"{self!r} relabels graphs with {self.n} nodes, got {data.num_nodes}")

    def act(self, g: Tensor, data: Any) -> Any:
        self.check(data)
        self._check_perm(g)
        out = data.clone()
        g = g.to(data.edge_index.device if data.edge_index is not None else "cpu")
        for key, value in data.items():
            if key == "edge_index":
                out.edge_index = torch.argsort(g)[value]  # old label u becomes new label g⁻¹(u)
            elif isinstance(value, Tensor) and data.is_node_attr(key):
                out[key] = value.index_select(0, g.to(value.device))
        return out


class Euclidean3d(Action):
    """Rigid motions of 3D space acting on point clouds ``[..., n, 3]``: ``x ↦ x Rᵀ + t``.

    With the defaults this is ``SE(3)`` (rotations and translations); ``reflections=True`` gives
    ``E(3)``; ``translations=False`` gives ``SO(3)`` or ``O(3)``. Elements are ``(R, t)`` in float64,
    sampled from the Haar measure on rotations and a standard normal for ``t``
    (:mod:`symlib.portable`: the same elements on every machine).
    ``on="vectors"`` acts on directions (velocities, forces) instead, which translations do not move;
    use :meth:`on_vectors` to get that action of the same group. ``on="rotations"`` acts on the
    rotation parts ``[..., 3, 3]`` of local frames (``R_i ↦ R R_i``; their origins are points).
    """

    def __init__(self, *, reflections: bool = False, translations: bool = True,
                 on: str = "points") -> None:
        if on not in ("points", "vectors", "rotations"):
            raise ValueError(f"on must be 'points', 'vectors' or 'rotations', got {on!r}")
        self.reflections, self.translations, self.on = reflections, translations, on
        self.group = ("E" if reflections else "SE", 3) if translations else ("O" if reflections else "SO", 3)

    def on_vectors(self) -> Euclidean3d:
        """The same group acting on vectors (translations leave vectors unchanged)."""
        return Euclidean3d(reflections=self.reflections, translations=self.translations, on="vectors")

    def on_rotations(self) -> Euclidean3d:
        """The same group acting on the rotation matrices of frames: ``R_i ↦ R R_i``."""
        return Euclidean3d(reflections=self.reflections, translations=self.translations, on="rotations")

    def identity(self) -> tuple[Tensor, Tensor]:
        return (torch.eye(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))

    def sample(self, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        q = random_rotations(1, generator)[0]
        if self.reflections and _randint(2, generator):
            q = -q
        t = portable.randn(3, generator=generator, dtype=torch.float64) if self.translations \
            else torch.zeros(3, dtype=torch.float64)
        return (q, t)

    def compose(self, g: tuple[Tensor, Tensor], h: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        (r1, t1), (r2, t2) = g, h
        return (r1 @ r2, r1 @ t2 + t1)

    def inverse(self, g: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        r, t = g
        return (r.T, -(r.T @ t))

    def check(self, x: Tensor) -> None:
        want = (3, 3) if self.on == "rotations" else (3,)
        if not isinstance(x, Tensor) or x.dim() < len(want) or tuple(x.shape[-len(want):]) != want:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{self!r} acts on 3D {self.on} of shape [..., {', '.join(map(str, want))}], "
                             f"got {shape}")
        if not x.is_floating_point():
            raise ValueError(f"{self!r} needs floating-point coordinates, got {x.dtype}")

    def act(self, g: tuple[Tensor, Tensor], x: Tensor) -> Tensor:
        self.check(x)
        r, t = (a.to(device=x.device, dtype=x.dtype) for a in g)
        if self.on == "rotations":
            return r @ x
        y = x @ r.T
        return y + t if self.on == "points" else y


class Product(_Derived):
    """One group acting on a tuple of inputs, component by component, with the *same* element.

    ``Product(E, E.on_vectors())`` acts on ``(positions, velocities)`` (``E = Euclidean3d()``). All components
    must be actions of the same group (or :class:`Trivial`, for components that do not transform,
    such as charges).
    """

    def __init__(self, *actions: Action) -> None:
        keys = {a.group for a in actions if not isinstance(a, Trivial)}
        if not actions or len(keys) > 1:
            raise ValueError(f"Product needs actions of one group, got groups {sorted(map(str, keys))}")
        self.actions = actions
        self._base = next((a for a in actions if not isinstance(a, Trivial)), actions[0])
        self.group = self._base.group

    def check(self, xs: Sequence[Any]) -> None:
        if not isinstance(xs, (tuple, list)) or len(xs) != len(self.actions):
            raise ValueError(f"{self!r} acts on a tuple of {len(self.actions)} inputs, "
                             f"got {type(xs).__name__}"
                             + (f" of length {len(xs)}" if isinstance(xs, (tuple, list)) else ""))
        for a, x in zip(self.actions, xs):
            a.check(x)

    def act(self, g: Element, xs: Sequence[Any]) -> tuple[Any, ...]:
        self.check(xs)
        return tuple(a.act(g, x) for a, x in zip(self.actions, xs))
