"""Every dataset the book and ``scripts/reproduce.py`` use is the same bits on this machine as on the
one that committed its digest (``symlib.data.digests``), regenerated here without any cache."""

from __future__ import annotations

import pytest
import torch

from symlib.data import digests, nbody


def test_the_table_names_every_recipe() -> None:
    digests.RECIPES.update(digests._recipes())
    assert sorted(digests.RECIPES) == sorted(digests.DIGESTS)
    assert set(digests.SLOW) <= set(digests.DIGESTS)


@pytest.mark.parametrize("name", list(digests.DIGESTS))
def test_dataset_has_its_committed_digest(name: str) -> None:
    got = digests.compute(name)
    assert got == digests.DIGESTS[name], (
        f"dataset {name!r} is not the book's: this machine generates sha256 {got[:16]}…, the book's data "
        f"are {digests.DIGESTS[name][:16]}…. The generators draw uniform bits from torch's Mersenne "
        "Twister (portable across machines) and transform them with correctly rounded arithmetic "
        "(symlib.portable), so a difference means that torch's random streams or an elementwise kernel "
        f"differ here (torch {torch.__version__}), or that the code changed the data without updating "
        "the table (python -m symlib.data.digests). Chapters that use these data will print other numbers.")


def test_digest_sees_dtype_shape_and_every_bit() -> None:
    x = torch.arange(6, dtype=torch.float32)
    assert digests.digest(x) == digests.digest(x.clone())
    assert digests.digest(x) != digests.digest(x.double())
    assert digests.digest(x) != digests.digest(x.view(2, 3))
    y = x.clone()
    y.view(torch.int32)[3] ^= 1                                         # one last bit
    assert digests.digest(x) != digests.digest(y)
    with pytest.raises(TypeError, match="tensors"):
        digests.digest([1.0])


def test_the_cache_serves_only_data_with_their_digest(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SYMLIB_CACHE", str(tmp_path))
    fresh = nbody.generate(3, seed=11)
    cached = nbody.generate(3, seed=11, cache=True)
    (path,) = tmp_path.glob("nbody-generate-3-11-*.pt")
    assert path.name == f"nbody-generate-3-11-{nbody._code_version()}.pt"     # keyed by the code's version
    assert cached.digest() == fresh.digest() == nbody.generate(3, seed=11, cache=True).digest()
    stored = torch.load(path, weights_only=True)
    stored["data"]["target"] = stored["data"]["target"] + 1                 # a stale or damaged file
    torch.save(stored, path)
    assert nbody.generate(3, seed=11, cache=True).digest() == fresh.digest()
    assert torch.load(path, weights_only=True)["digest"] == fresh.digest()  # and it was replaced
