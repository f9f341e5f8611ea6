"""requirements.lock: compiled from this pyproject.toml, complete for symlib[dev], torch by release."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)


def direct_requirements() -> list[Requirement]:
    """symlib's runtime dependencies and those of its ``dev`` extra, its own extras expanded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras, todo = project["optional-dependencies"], ["dev"]
    found = [Requirement(r) for r in project["dependencies"]]
    while todo:
        for line in extras[todo.pop()]:
            req = Requirement(line)
            if lock.normalise(req.name) == lock.PROJECT:
                todo.extend(req.extras)
            else:
                found.append(req)
    return found


def test_the_lock_is_current() -> None:
    assert lock.check_lock() == []


def test_every_requirement_is_pinned_within_its_bounds() -> None:
    _, pins = lock.read_lock()
    reqs = direct_requirements()
    assert len(reqs) > 15
    for req in reqs:
        pinned = pins.get(lock.normalise(req.name))
        assert pinned is not None, f"{req.name} is required but not in requirements.lock"
        assert req.specifier.contains(Version(pinned), prereleases=True), f"{req} but the lock has {pinned}"


def test_torch_is_pinned_by_release_not_build() -> None:
    text = lock.LOCK.read_text()
    assert re.search(rf"^torch=={re.escape(lock.TORCH)}$", text, flags=re.MULTILINE)
    assert not re.search(r"^(nvidia-|triton==)", text, flags=re.MULTILINE), "CUDA packages entered the lock"


def test_a_changed_pyproject_makes_the_lock_stale(tmp_path: Path) -> None:
    text = (ROOT / "pyproject.toml").read_text()
    changed = tmp_path / "pyproject.toml"
    changed.write_text(text.replace('"numpy>=1.24"', '"numpy>=1.25"'))
    assert changed.read_text() != text
    assert lock.pyproject_hash(changed) != lock.pyproject_hash()
    # comments and unrelated settings do not
    changed.write_text(text + "\n# a comment\n[tool.example]\nx = 1\n")
    assert lock.pyproject_hash(changed) == lock.pyproject_hash()


def test_lower_bounds_are_pins_of_every_runtime_dependency(tmp_path: Path) -> None:
    pins = lock.lower_bounds()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert len(pins) == len(project["dependencies"])
    assert "torch==2.2" in pins
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nname = "x"\ndependencies = ["torch>=2.2,<3"]\n')
    with pytest.raises(SystemExit, match="not a plain lower bound"):
        lock.lower_bounds(bad)
