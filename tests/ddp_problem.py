"""The small regression problem shared by tests/test_train_ddp.py and its torchrun worker."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset


def make_data() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 5, generator=g, dtype=torch.float64)
    return TensorDataset(x, x.sin().sum(1, keepdim=True))


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 1)).double()


def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    return F.mse_loss(model(batch[0]), batch[1])
