"""symlib — the library behind *Symmetry: the property that designs architectures*.

Modules, one concept each:

* :mod:`symlib.config` — scales (``ci``/``full``), device choice, seeding;
* :mod:`symlib.groups` — groups acting on tensors (shifts, rotations, flips, permutations, rigid motions);
* :mod:`symlib.equivariance` — measured invariance and equivariance errors;
* :mod:`symlib.claims` — a chapter's checked claims;
* :mod:`symlib.train` — one training loop for every chapter;
* :mod:`symlib.plot` — the book's figure style;
* :mod:`symlib.layers` — the layers the chapters build.
"""

from symlib.claims import ClaimFailed, Claims
from symlib.config import Setup, default_device, seed_everything, setup
from symlib.equivariance import equivariance_error, invariance_error, tolerance

__all__ = [
    "ClaimFailed", "Claims", "Setup", "default_device", "equivariance_error", "invariance_error",
    "seed_everything", "setup", "tolerance",
]
__version__ = "0.1.0"
