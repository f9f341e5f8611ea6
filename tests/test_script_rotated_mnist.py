"""scripts/rotated_mnist.py (the full-scale Table 1 reproduction), offline: its models and a smoke run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from symlib.equivariance import invariance_error, tolerance
from symlib.groups import Rot90
from symlib.layers import count_parameters

from helpers import assert_broken

pytestmark = pytest.mark.usefixtures("single_threaded_torch")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "rotated_mnist.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("rotated_mnist_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_paper_architectures(script) -> None:
    """28×28 in, 10 logits out; P4CNN invariant to 90° turns, Z2CNN not; similar sizes."""
    torch.manual_seed(0)
    z2 = script.CohenWellingCNN("z2", 20, 0.3).double().eval()
    p4 = script.CohenWellingCNN("p4", 10, 0.0).double().eval()
    x = torch.randn(2, 1, 28, 28, dtype=torch.float64)
    assert z2(x).shape == p4(x).shape == (2, 10)
    assert invariance_error(p4, x, Rot90()).max <= tolerance(torch.float64)
    assert_broken(invariance_error(z2, x, Rot90()))
    assert 0.8 < count_parameters(p4) / count_parameters(z2) < 1.2


def test_smoke_run_on_fake_data(script, tmp_path, capsys) -> None:
    script.main(["--fake-data", "--epochs", "1", "--limit", "64", "--batch-size", "32", "--seeds", "1",
                 "--out", str(tmp_path)])
    result = json.loads((tmp_path / "rotated_mnist.json").read_text())
    assert set(result["results"]) == {"Z2CNN", "P4CNN", "Z2CNN + C4 aug"}
    assert all(0 <= r["mean"] <= 100 for r in result["results"].values())
    assert "test error" in capsys.readouterr().out
