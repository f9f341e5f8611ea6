"""The two baseline models of MNIST-1D (Greydanus 2020), with the repository's sizes.

Chapter 03 trains them on real and on position-shuffled signals, and ``scripts/reproduce.py`` trains
them at the paper's settings. Both take signals ``[N, 40]`` and return class scores ``[N, 10]``:

* :func:`residual_mlp` — ``40 → 100 → 100 → 10`` with ReLUs, the second hidden layer as a residual step
  ``h + ReLU(W h + b)``: 15,210 parameters;
* :func:`cnn` — three 1D convolutions of 25 channels (kernels 5, 3, 3, each with stride 2 and
  padding 1: lengths 40 → 19 → 10 → 5), ReLUs, and a linear classifier on the ``25 × 5`` features:
  5,210 parameters.

They are plain ``nn.Sequential`` stacks, so ``print(residual_mlp())`` shows every layer. The sizes are
MNIST-1D's (``symlib.data.mnist1d.LENGTH`` and ``NUM_CLASSES``), as arguments: layers never import
data.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["Residual", "cnn", "residual_mlp"]


class Residual(nn.Module):
    """``x + f(x)``: a residual step around any module ``f`` whose output has the input's shape."""

    def __init__(self, f: nn.Module) -> None:
        super().__init__()
        self.f = f

    def forward(self, x: Tensor) -> Tensor:
        return x + self.f(x)


def residual_mlp(hidden: int = 100, *, length: int = 40, num_classes: int = 10) -> nn.Sequential:
    """The MNIST-1D MLP: ``[N, length]`` → ``[N, num_classes]``, two hidden layers, the second residual."""
    return nn.Sequential(nn.Linear(length, hidden), nn.ReLU(),
                         Residual(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU())),
                         nn.Linear(hidden, num_classes))


def cnn(channels: int = 25, *, num_classes: int = 10) -> nn.Sequential:
    """The MNIST-1D CNN: ``[N, 40]`` → ``[N, 1, 40]`` → three stride-2 convolutions → ``[N, 10]``
    (the classifier reads the ``25 × 5`` features of a length-40 signal)."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),                                              # [N, 1, 40]
        nn.Conv1d(1, channels, 5, stride=2, padding=1), nn.ReLU(),             # [N, C, 19]
        nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),      # [N, C, 10]
        nn.Conv1d(channels, channels, 3, stride=2, padding=1), nn.ReLU(),      # [N, C, 5]
        nn.Flatten(), nn.Linear(channels * 5, num_classes))                    # [N, 10]
