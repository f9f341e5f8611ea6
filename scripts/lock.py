"""The locked environment: ``requirements.lock`` pins every package ``make env`` installs.

``pyproject.toml`` keeps lower bounds only (so that Colab's preinstalled torch stays untouched);
the lock pins the whole dependency tree of ``symlib[dev]`` to exact versions, so that ``make test``
compares the stored outputs against the same libraries on every machine.

    python scripts/lock.py compile     # regenerate the lock (needs the package index) = make lock
    python scripts/lock.py compile --upgrade-package NAME   # ... and move NAME to its newest release
    python scripts/lock.py check       # the lock was generated from this pyproject.toml (offline)
    python scripts/lock.py installed   # this interpreter has the locked versions (--exact: only them)
    python scripts/lock.py lower-bounds  # each runtime dependency pinned at its lower bound

The lock is compiled by pip-tools' ``pip-compile``, i.e. by pip's own resolver reading pip's own
configuration, so it sees the same wheels ``pip install`` will (the CPU build of torch where pip's
configuration offers one). The lock records a hash of ``pyproject.toml``'s dependency tables; any
change to them makes ``check`` fail until the lock is compiled again.

torch is pinned at the release whose CPU build the CI machine has (``TORCH``) and written without
its build label (``2.13.0``, not ``2.13.0+cpu``): which build a machine installs (CPU, or CUDA with
the CUDA libraries that build pins itself) stays the machine's choice, as before the lock.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
PROJECT = "symlib"
EXTRA = "dev"
# The torch release the lock pins; its CPU wheel lies on the CI machine's disk.
TORCH = "2.13.0"
HASH_PREFIX = "# pyproject-sha256: "
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def normalise(name: str) -> str:
    """PEP 503 normal form of a distribution name (``Torch_Geometric`` -> ``torch-geometric``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_hash(path: Path = PYPROJECT) -> str:
    """sha256 of what the lock depends on: the dependency tables of ``pyproject.toml`` and ``TORCH``."""
    data = tomllib.loads(path.read_text())
    project = data["project"]
    relevant = {
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "build-system": data.get("build-system", {}).get("requires", []),
        "torch": TORCH,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def read_lock(path: Path = LOCK) -> tuple[str | None, dict[str, str]]:
    """The hash recorded in the lock, and its pins as ``{normalised name: version}``."""
    if not path.exists():
        raise SystemExit(f"{path.name} is missing: run `make lock`")
    recorded, pins = None, {}
    for line in path.read_text().splitlines():
        if line.startswith(HASH_PREFIX):
            recorded = line.removeprefix(HASH_PREFIX).strip()
        elif match := PIN.match(line):
            pins[normalise(match[1])] = match[2]
    return recorded, pins


def compile_lock(upgrade: list[str] = ()) -> None:
    """Resolve ``symlib[dev]`` with pip-compile and write ``requirements.lock``.

    The current pins are kept wherever they still satisfy ``pyproject.toml``; the packages named in
    ``upgrade`` move to their newest release (torch moves only with ``TORCH``).
    """
    with tempfile.TemporaryDirectory() as tmp:
        constraint = Path(tmp) / "torch.txt"
        constraint.write_text(f"torch=={TORCH}\n")
        out = Path(tmp) / "lock.txt"
        if LOCK.exists():  # start from the current pins: compile changes only what it must
            out.write_text(LOCK.read_text())
        cmd = [sys.executable, "-m", "piptools", "compile", "--quiet", f"--extra={EXTRA}",
               "--strip-extras", "--allow-unsafe", "--no-emit-index-url", "--no-emit-find-links",
               f"--constraint={constraint}", f"--output-file={out}", str(PYPROJECT),
               *(f"--upgrade-package={name}" for name in upgrade)]
        env = {**os.environ, "CUSTOM_COMPILE_COMMAND": "make lock"}
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)
        text = out.read_text()
    text = re.sub(rf"^torch=={re.escape(TORCH)}\+\w+$", f"torch=={TORCH}", text, flags=re.MULTILINE)
    if re.search(r"^nvidia-", text, flags=re.MULTILINE):
        raise SystemExit(
            "pip resolved the CUDA build of torch, whose CUDA libraries would enter the lock. Let pip "
            "see the CPU build and compile again, e.g. "
            "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu make lock")
    header = (f"# The exact environment of `make env`, compiled from pyproject.toml ({PROJECT}[{EXTRA}]).\n"
              f"# Regenerate with `make lock` after changing pyproject.toml; CI fails while it is stale.\n"
              f"{HASH_PREFIX}{pyproject_hash()}\n")
    LOCK.write_text(header + text)
    print(f"wrote {LOCK.relative_to(ROOT)}: {len(read_lock()[1])} packages, torch=={TORCH}")


def check_lock() -> list[str]:
    """Problems that make the lock stale against ``pyproject.toml`` (empty when it is current)."""
    recorded, pins = read_lock()
    problems = []
    if recorded != pyproject_hash():
        problems.append("requirements.lock is stale: pyproject.toml's dependencies changed since it was "
                        "compiled; run `make lock` and commit the result")
    if pins.get("torch") != TORCH:
        problems.append(f"requirements.lock pins torch=={pins.get('torch')}, scripts/lock.py says {TORCH}")
    return problems


def check_installed(exact: bool) -> list[str]:
    """Differences between the running interpreter's packages and the lock.

    Every locked package must be installed at its locked version (a build label such as ``+cpu`` is
    ignored). With ``exact``, packages beyond the lock are differences too, except where torch's own
    build requires them (the CUDA libraries a CUDA build pins itself).
    """
    from importlib import metadata

    from packaging.version import Version

    _, pins = read_lock()
    installed = {normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}
    problems = []
    for name, version in sorted(pins.items()):
        have = installed.get(name)
        if have is None:
            problems.append(f"{name}=={version} is locked but not installed")
        elif Version(have).public != Version(version).public:
            problems.append(f"{name} {have} is installed, the lock says {version}")
    extra = set(installed) - set(pins) - {PROJECT} - requirements_of("torch", installed)
    for name in sorted(extra if exact else ()):
        problems.append(f"{name} {installed[name]} is installed but not in the lock")
    return problems


def requirements_of(root: str, installed: dict[str, str]) -> set[str]:
    """Installed distributions that ``root`` requires, directly or through others, on this machine.

    Markers are evaluated here (``platform_system == "Linux"``), extras followed where a requirement
    asks for them (``cuda-toolkit[cublas]``).
    """
    from importlib import metadata

    from packaging.requirements import Requirement

    found: set[str] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    seen = set(todo)
    while todo:
        name, extras = todo.pop()
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
                continue
            dep = normalise(req.name)
            if dep in installed and (dep, frozenset(req.extras)) not in seen:
                found.add(dep)
                seen.add((dep, frozenset(req.extras)))
                todo.append((dep, frozenset(req.extras)))
    return found


def lower_bounds(path: Path = PYPROJECT) -> list[str]:
    """``name==version`` for every runtime dependency of ``pyproject.toml``, at its ``>=`` bound."""
    pins = []
    for spec in tomllib.loads(path.read_text())["project"]["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9._-]+)\s*>=\s*([0-9][^,;\s]*)", spec)
        if match is None:
            raise SystemExit(f"{spec!r} in pyproject.toml is not a plain lower bound (name>=version)")
        pins.append(f"{match[1]}=={match[2]}")
    return pins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["compile", "check", "installed", "lower-bounds"])
    parser.add_argument("--upgrade-package", action="append", default=[], metavar="NAME",
                        help="compile: move NAME to its newest release (repeatable)")
    parser.add_argument("--exact", action="store_true",
                        help="installed: also fail on packages installed beyond the lock")
    args = parser.parse_args()
    command = args.command
    if command == "compile":
        compile_lock(args.upgrade_package)
        return
    if command == "lower-bounds":
        print("\n".join(lower_bounds()))
        return
    problems = check_lock() if command == "check" else check_installed(args.exact)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    if command == "check":
        print("requirements.lock is current")
    else:
        print(f"this environment has {'exactly ' if args.exact else ''}the versions of requirements.lock")


if __name__ == "__main__":
    main()
