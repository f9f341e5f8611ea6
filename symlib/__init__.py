"""symlib — the library behind *Symmetry: the property that designs architectures*.

Modules, one concept each:

* :mod:`symlib.config` — scales (``ci``/``full``), device choice, seeding;
* :mod:`symlib.groups` — groups acting on tensors (shifts, rotations, flips, permutations, rigid motions);
* :mod:`symlib.geometry` — random rotations, complete graphs, rotations about an axis;
* :mod:`symlib.portable` — random draws and elementary functions with the same bits on every machine;
* :mod:`symlib.equivariance` — measured invariance and equivariance errors, and the one tolerance policy;
* :mod:`symlib.symmetry` — a symmetry to check: a name and how the group acts on input and output;
* :mod:`symlib.audit` — a model's symmetries, measured row by row, with one verdict policy;
* :mod:`symlib.reps` — matrix representations of groups;
* :mod:`symlib.solve` — every linear map that commutes with a group, solved for;
* :mod:`symlib.scaling` — power laws fitted with their errors;
* :mod:`symlib.stats` — results over seeds (mean ± standard error) and the declared test (Welch's t);
* :mod:`symlib.claims` — a chapter's checked claims, and the numbers glued into its prose;
* :mod:`symlib.train` — one training loop for every chapter;
* :mod:`symlib.seeds` — many seeds of one architecture trained as one batched model;
* :mod:`symlib.checkpoint` — checkpoints that resume a run bitwise where it stopped;
* :mod:`symlib.distributed` — data-parallel training over processes (``torchrun``);
* :mod:`symlib.plot` — the book's figure style and explorers;
* :mod:`symlib.atom_scores` — reading per-atom scores (ties, accuracy up to symmetry);
* :mod:`symlib.layers` — the layers the chapters build (one forward convention per family);
* :mod:`symlib.data` — the chapters' data sets and generators.
"""

import warnings

from symlib.claims import ClaimFailed, Claims
from symlib.config import Setup, default_device, seed_everything, setup
from symlib.equivariance import equivariance_error, invariance_error, tolerance

# torch >= 2.14 deprecates ``torch.jit.script`` with a FutureWarning (a DeprecationWarning since 2.9),
# and torch_geometric (2.8) calls it while it is imported: noise on stderr about PyG's internals that
# no reader can act on, and that would fail nbval's strict comparison of the import cells. Only that
# message is silenced, from ``import symlib`` on (symlib's modules that use torch_geometric import it
# after this line); symlib itself never calls torch.jit (tests/test_imports.py checks both).
warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated")

__all__ = [
    "ClaimFailed", "Claims", "Setup", "default_device", "equivariance_error", "invariance_error",
    "seed_everything", "setup", "tolerance",
]
__version__ = "0.1.0"
