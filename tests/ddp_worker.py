"""Run by tests/test_train_ddp.py under ``torchrun --nproc_per_node=2``: the same ``fit`` call a
chapter makes, with no distributed code of its own. Rank 0 saves the result."""

from __future__ import annotations

import sys

import torch

from symlib.train import fit

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from ddp_problem import loss_fn, make_data, make_model  # noqa: E402

out, steps, checkpoint = sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None
torch.set_num_threads(1)
model = make_model()
history = fit(model, loss_fn, make_data(), steps=steps, batch_size=16, lr=1e-2, seed=3, device="cpu",
              progress=False, checkpoint=checkpoint, checkpoint_every=5)
if torch.distributed.get_rank() == 0:
    torch.save({"model": model.state_dict(), "loss": history.loss,
                "world": torch.distributed.get_world_size()}, out)
# Leave the process group explicitly: a gloo process that exits with its group still alive can abort
# in teardown ("terminate called without an active exception"), which fails the run at random.
torch.distributed.barrier()
torch.distributed.destroy_process_group()
