"""Test-session configuration shared by every test in ``tests/``.

The Hypothesis profile ``symlib`` (no deadline, derandomized) is registered and loaded at import.
Without a deadline, a slow first call (torch's lazy initialisation, a loaded CI machine) cannot fail
a property test; derandomized runs draw the same examples every time, so the suite is reproducible
and a failure seen once is seen again (this also means no example database is kept). Progress bars
are switched off by the repository's root ``conftest.py``.

The fixture :func:`dtype` runs a test once in float32 and once in float64; the assertions that go with
it (``assert_equivariant``, ``assert_invariant``, ``assert_matches``, the named tolerance factors) are
in ``tests/helpers.py``, since a conftest is not meant to be imported.

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

#: the dtypes every numerical test runs in
DTYPES = [torch.float32, torch.float64]


@pytest.fixture(scope="module", params=DTYPES, ids=lambda d: str(d).removeprefix("torch."))
def dtype(request: pytest.FixtureRequest) -> torch.dtype:
    """float32, then float64. Module-scoped, so that Hypothesis tests (``@given``) can use it too:
    Hypothesis refuses function-scoped fixtures, which are not reset between its examples."""
    return request.param


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
