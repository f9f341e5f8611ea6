"""Root pytest configuration, loaded for every run in this repository (``pytest --nbval notebooks``
included): progress bars off, so neither test logs nor the outputs of notebook kernels started by
nbval (which inherit this environment) ever contain one."""

import os

os.environ["SYMLIB_PROGRESS"] = "0"
