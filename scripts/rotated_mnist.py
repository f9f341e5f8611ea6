"""Cohen & Welling (2016), Table 1: Z2CNN vs P4CNN test error on rotated MNIST (full scale, a GPU).

    python scripts/rotated_mnist.py                 # 100 epochs × 3 seeds per model, ~minutes on a GPU
    python scripts/rotated_mnist.py --fake-data --epochs 1 --limit 256    # offline smoke test

The architectures follow the paper's code: six 3×3 unpadded convolutions with batch norm and ReLU,
a 2×2 max pool after the second, a 4×4 convolution to 10 channels on the 4×4 maps that remain, and
a max over positions (and, for P4CNN, orientations). Z2CNN has 20 channels and dropout 0.3, P4CNN
10 channels (about the same parameters) and no dropout. Adam, learning rate 1e-3, batch 128,
100 epochs on the first 10,000 training images; pixels standardised by the training mean and
standard deviation; test error on the 50,000 test images. The paper reports 5.03 % (Z2CNN) and
2.28 % (P4CNN). ``Z2CNN + C4 aug`` adds random 90° rotations, which the paper does not have.

Prints a table and writes ``rotated_mnist.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.utils.data import TensorDataset

from symlib.config import default_device, seed_everything
from symlib.data import digits, rotated_mnist
from symlib.groups import Rot90
from symlib.layers import count_parameters
from symlib.layers.gconv import GroupConv, LiftingConv, spatial_max_pool
from symlib.train import fit

PAPER = {"Z2CNN": 5.03, "P4CNN": 2.28}


class CohenWellingCNN(nn.Module):
    """Z2CNN (``group="z2"``) or P4CNN (``group="p4"``): ``[B, 1, 28, 28]`` → logits ``[B, 10]``."""

    def __init__(self, group: str, channels: int, dropout: float) -> None:
        super().__init__()
        convs = [LiftingConv(1, channels, 3, group=group, padding=0, bias=False)]
        convs += [GroupConv(channels, channels, 3, group=group, padding=0, bias=False) for _ in range(5)]
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(nn.BatchNorm3d(channels) for _ in convs)
        self.dropout = nn.Dropout(dropout)
        self.top = GroupConv(channels, 10, 4, group=group, padding=0)

    def forward(self, x: Tensor) -> Tensor:
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = torch.relu(norm(conv(x)))
            if i == 1:   # 24×24 → 12×12
                x = spatial_max_pool(x)
            else:        # the paper's dropout sites: after every block but the one before the pool
                x = self.dropout(x)
        return self.top(x).amax(dim=(2, 3, 4))


MODELS = {"Z2CNN": ("z2", 20, 0.3, False), "P4CNN": ("p4", 10, 0.0, False),
          "Z2CNN + C4 aug": ("z2", 20, 0.3, True)}


def load(fake: bool, limit: int | None) -> dict[str, TensorDataset]:
    if fake:   # random images in the right shapes: exercises everything but the download
        g = torch.Generator().manual_seed(0)
        data = {k: TensorDataset(torch.rand(n, 1, 28, 28, generator=g), torch.randint(10, (n,), generator=g))
                for k, n in [("train", 512), ("test", 512)]}
    else:
        data = rotated_mnist.load()
    if limit:
        data = {k: TensorDataset(*(t[:limit] for t in v.tensors)) for k, v in data.items()}
    x = data["train"].tensors[0]
    mean, std = x.mean(), x.std()   # one scalar each: standardising keeps the symmetry
    return {k: TensorDataset((v.tensors[0] - mean) / std, v.tensors[1]) for k, v in data.items()}


def test_error(model: nn.Module, data: TensorDataset, device: torch.device) -> float:
    model.eval()
    wrong = 0
    with torch.no_grad():
        for x, y in zip(data.tensors[0].split(1000), data.tensors[1].split(1000)):
            wrong += (model(x.to(device)).argmax(1).cpu() != y).sum().item()
    return 100.0 * wrong / len(data)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--limit", type=int, default=None, help="use only the first N images of each split")
    parser.add_argument("--fake-data", action="store_true", help="random data instead of the download")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)

    device = default_device()
    data = load(args.fake_data, args.limit)
    steps = args.epochs * (len(data["train"]) // args.batch_size)
    print(f"device {device}; {len(data['train'])} training images, {steps} steps; "
          f"{len(data['test'])} test images")
    results: dict[str, dict] = {}
    for name in args.models:
        group, channels, dropout, augment = MODELS[name]
        errors, seconds = [], []
        for seed in range(args.seeds):
            seed_everything(seed)
            model = CohenWellingCNN(group, channels, dropout)
            loss = digits.augmented_cross_entropy(Rot90() if augment else None, seed=seed)
            start = time.perf_counter()
            fit(model, loss, data["train"], steps=steps, batch_size=args.batch_size, lr=1e-3,
                optimizer=lambda p: torch.optim.Adam(p, lr=1e-3), seed=seed, device=device, amp=False)
            seconds.append(time.perf_counter() - start)
            errors.append(test_error(model, data["test"], device))
            print(f"  {name:<16} seed {seed}: test error {errors[-1]:.2f} %  ({seconds[-1]:.0f} s)",
                  flush=True)
        e = torch.tensor(errors, dtype=torch.float64)
        results[name] = {"errors": errors, "mean": e.mean().item(),
                         "std": e.std().item() if len(e) > 1 else 0.0,
                         "parameters": count_parameters(CohenWellingCNN(group, channels, dropout)),
                         "seconds_per_run": sum(seconds) / len(seconds), "paper": PAPER.get(name)}
    print(f"\n{'model':<16}{'parameters':>11}{'test error %':>16}{'paper':>8}")
    for name, r in results.items():
        paper = f"{r['paper']:.2f}" if r["paper"] else "—"
        print(f"{name:<16}{r['parameters']:>11,}{r['mean']:>10.2f} ± {r['std']:.2f}{paper:>8}")
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"device": str(device), "epochs": args.epochs, "fake_data": args.fake_data, "limit": args.limit,
            "torch": torch.__version__}
    (args.out / "rotated_mnist.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
