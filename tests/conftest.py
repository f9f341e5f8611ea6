"""Test-session configuration shared by every test in ``tests/``.

Two things happen at import, before any test (or notebook kernel) starts:

* ``SYMLIB_PROGRESS=0`` is set in the environment, so :func:`symlib.config.progress_enabled` is
  false: the training loop never draws a progress bar in test logs, and notebook kernels started
  afterwards by ``pytest --nbval`` in the same session inherit the variable, so their stored
  outputs never contain one either. (This file is only imported when ``tests/`` is collected; a run
  of ``pytest --nbval notebooks/`` alone must set the variable itself.)
* the Hypothesis profile ``symlib`` (no deadline, derandomized) is registered and loaded. Without a
  deadline, a slow first call (torch's lazy initialisation, a loaded CI machine) cannot fail a
  property test; derandomized runs draw the same examples every time, so the suite is
  reproducible and a failure seen once is seen again (this also means no example database is kept).
"""

from __future__ import annotations

import os

from hypothesis import settings

os.environ["SYMLIB_PROGRESS"] = "0"

settings.register_profile("symlib", deadline=None, derandomize=True)
settings.load_profile("symlib")
