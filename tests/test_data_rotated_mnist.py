"""symlib.data.rotated_mnist, offline: a small archive in the real format stands in for the download."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from symlib.data import rotated_mnist


def _archive(path: Path, n_train: int = 5, n_test: int = 3, width: int = 28 * 28 + 1) -> str:
    """Write a zip like mnist_rotation_new.zip; return its MD5."""
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as z:
        for member, n in [(rotated_mnist.MEMBERS["train"], n_train), (rotated_mnist.MEMBERS["test"], n_test)]:
            rows = rng.random((n, width))
            rows[:, -1] = np.arange(n) % 10
            z.writestr(member, "\n".join(" ".join(f"{v:.6f}" for v in row) for row in rows) + "\n")
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_download_verify_convert_and_reload(tmp_path, monkeypatch) -> None:
    source = tmp_path / "remote.zip"
    md5 = _archive(source)
    monkeypatch.setattr(rotated_mnist, "NUM_TRAIN", 4)
    data = rotated_mnist.load(tmp_path / "cache", url=source.as_uri(), md5=md5)
    assert {k: len(v) for k, v in data.items()} == {"train": 4, "valid": 1, "test": 3}
    x, y = data["train"].tensors
    assert x.shape == (4, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert y.tolist() == [0, 1, 2, 3]
    (tmp_path / "cache" / rotated_mnist.ZIP_NAME).unlink()  # the converted tensors suffice now
    again = rotated_mnist.load(tmp_path / "cache", url="file:///nonexistent", md5=md5)
    assert torch.equal(again["test"].tensors[0], data["test"].tensors[0])


def test_a_wrong_checksum_is_refused_and_the_file_deleted(tmp_path) -> None:
    source = tmp_path / "remote.zip"
    _archive(source)
    with pytest.raises(RuntimeError, match="MD5 .* expected 0+"):
        rotated_mnist.download(tmp_path / "cache", url=source.as_uri(), md5="0" * 32)
    assert not (tmp_path / "cache" / rotated_mnist.ZIP_NAME).exists()


def test_no_network_gives_a_clear_message(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="could not download .* copy it to"):
        rotated_mnist.download(tmp_path, url=(tmp_path / "missing.zip").as_uri())
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_rows_of_the_wrong_length_are_named(tmp_path) -> None:
    source = tmp_path / "remote.zip"
    md5 = _archive(source, width=100)
    with pytest.raises(ValueError, match="785 values per row"):
        rotated_mnist.load(tmp_path / "cache", url=source.as_uri(), md5=md5)
