"""Test-session configuration shared by every test in ``tests/``.

The Hypothesis profile ``symlib`` (no deadline, derandomized) is registered and loaded at import.
Without a deadline, a slow first call (torch's lazy initialisation, a loaded CI machine) cannot fail
a property test; derandomized runs draw the same examples every time, so the suite is reproducible
and a failure seen once is seen again (this also means no example database is kept). Progress bars
are switched off by the repository's root ``conftest.py``.

The fixture :func:`single_threaded_torch` is opt-in (``pytestmark = pytest.mark.usefixtures(...)``)
for modules that run thousands of operations on tiny tensors.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from hypothesis import settings

settings.register_profile("symlib", deadline=None, derandomize=True)
settings.load_profile("symlib")


@pytest.fixture(scope="module")
def single_threaded_torch() -> Iterator[None]:
    """Run a module's torch operations on one thread, then restore the thread count.

    On tiny tensors a thread pool costs more than it saves: a 3×3 QR (``Euclidean3d.sample``) takes
    ~20 µs on one thread and ~0.5 ms on two, more on a loaded machine.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
