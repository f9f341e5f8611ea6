"""A symmetry to check: a name, how the group acts on a model's input, and how it should act on the
output. Data modules declare the symmetries their kind of data has (``symlib.data.images.symmetries``,
``sets``, ``graphs``, ``sequences``, ``nbody``, ``molecules``, ``proteins``, ``spins``), and
:func:`symlib.audit.audit` measures a model against them::

    from symlib.data import images
    audit(cnn, x, images.symmetries(8))       # translations and rotations by 90°: invariance

This module is only the declaration; it imports nothing but the groups, so that data modules can
declare symmetries without depending on the measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from symlib.groups import Action, Trivial

__all__ = ["Call", "Symmetry"]

#: How a row applies the model: ``call(model, x)``.
Call = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Symmetry:
    """A transformation to audit. ``act_out`` is how the output should transform: ``None`` means the
    same action as the input (equivariance), :class:`~symlib.groups.Trivial` means invariance.
    ``elements`` fixes the group elements tested (default: all, or seeded samples). ``call(model,
    x)`` says how to apply the model for this row (default: the audit's ``call``, else ``model(x)``):
    e.g. ``lambda m, t: m.features(t)`` to measure per-token features rather than the output."""

    name: str
    act_in: Action
    act_out: Action | None = None
    elements: Sequence[Any] | None = None
    call: Call | None = None

    @property
    def kind(self) -> str:
        return "invariant" if isinstance(self.act_out, Trivial) else "equivariant"
