"""The rotated-MNIST benchmark (Larochelle et al. 2007), as used by Cohen & Welling (2016, Table 1).

MNIST digits, each rotated by an angle drawn uniformly from [0, 2π): 12,000 training images (the
first 10,000 for training, the last 2,000 for validation, as in Cohen & Welling's split) and 50,000
test images, 28×28, values in [0, 1].

This is the one dataset in the book that is **downloaded**, and only when :func:`load` is called
(at ``full`` scale; never at import). The zip file is checked against its published MD5 and kept in
:func:`symlib.config.cache_dir`, then converted once to tensors loaded with ``weights_only=True``.
Without a network, put ``mnist_rotation_new.zip`` in that directory by hand.

Shapes: images ``[N, 1, 28, 28]`` float32, labels ``[N]`` int64.

The same bits on every machine: the data are a file, checked by its MD5; nothing is drawn.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from symlib.config import cache_dir

__all__ = ["MD5", "MEMBERS", "NUM_TRAIN", "SIZE", "URL", "ZIP_NAME", "download", "load"]

URL = "http://www.iro.umontreal.ca/~lisa/icml2007data/mnist_rotation_new.zip"
MD5 = "0f9a947ff3d30e95cd685462cbf3b847"
ZIP_NAME = "mnist_rotation_new.zip"
MEMBERS = {"train": "mnist_all_rotation_normalized_float_train_valid.amat",
           "test": "mnist_all_rotation_normalized_float_test.amat"}
NUM_TRAIN = 10_000  # of the 12,000 in the train_valid file; the rest is the validation split
SIZE = 28


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(root: str | Path | None = None, *, url: str = URL, md5: str = MD5) -> Path:
    """The verified zip file in ``root`` (default :func:`symlib.config.cache_dir`), downloaded if
    absent.

    Raises:
        RuntimeError: the download failed (no network?): the message says where to put the file by
            hand; or the file's MD5 is not ``md5`` (a corrupt or different file; it is deleted).
    """
    root = Path(root) if root is not None else cache_dir()
    path = root / ZIP_NAME
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as f:
                while chunk := response.read(1 << 20):
                    f.write(chunk)
        except (urllib.error.URLError, OSError) as err:
            tmp.unlink(missing_ok=True)
            raise RuntimeError(f"could not download rotated MNIST from {url} ({err}). Without a network, "
                               f"download {ZIP_NAME} elsewhere and copy it to {path}") from err
        tmp.replace(path)
    actual = _md5(path)
    if actual != md5:
        path.unlink()
        raise RuntimeError(f"{path} has MD5 {actual}, expected {md5}: the file is corrupt or not the "
                           "rotated-MNIST archive, so it was deleted; run again to download it afresh")
    return path


def _parse(text: bytes) -> TensorDataset:
    """One ``.amat`` file: a row per image, 784 pixel values then the label."""
    rows = np.loadtxt(text.decode().splitlines(), dtype=np.float32, ndmin=2)
    if rows.shape[1] != SIZE * SIZE + 1:
        raise ValueError(f"expected {SIZE * SIZE + 1} values per row (pixels + label), got {rows.shape[1]}")
    images = torch.from_numpy(rows[:, :-1].copy()).reshape(-1, 1, SIZE, SIZE)
    return TensorDataset(images, torch.from_numpy(rows[:, -1]).long())


def load(root: str | Path | None = None, *, url: str = URL, md5: str = MD5) -> dict[str, TensorDataset]:
    """``{"train": 10,000, "valid": 2,000, "test": 50,000}`` rotated digits (see the module doc).

    The first call downloads (:func:`download`) and converts the archive; later calls load the
    converted tensors from ``root``.
    """
    root = Path(root) if root is not None else cache_dir()
    converted = root / "rotated_mnist-v1.pt"
    if converted.exists():
        tensors = torch.load(converted, weights_only=True)
    else:
        with zipfile.ZipFile(download(root, url=url, md5=md5)) as archive:
            names = {Path(n).name: n for n in archive.namelist()}
            missing = [m for m in MEMBERS.values() if m not in names]
            if missing:
                raise RuntimeError(f"the archive lacks {missing}; it holds {sorted(names)}")
            parsed = {split: _parse(archive.read(names[member])) for split, member in MEMBERS.items()}
        x, y = parsed["train"].tensors
        tensors = {"train": (x[:NUM_TRAIN], y[:NUM_TRAIN]), "valid": (x[NUM_TRAIN:], y[NUM_TRAIN:]),
                   "test": parsed["test"].tensors}
        tmp = converted.with_suffix(".tmp")
        torch.save(tensors, tmp)
        tmp.replace(converted)
    return {split: TensorDataset(*pair) for split, pair in tensors.items()}
