"""p4/p4m group convolutions, one training step (forward + backward), three ways:

* symlib's :class:`~symlib.layers.gconv.GroupConv` / ``LiftingConv`` (a gathered filter bank, one
  ``conv2d``), and the same layer with the filter bank built by rotating the filters (the code before
  issue 11, kept as ``_transform``: the before/after of the fix, measured in the same run);
* a plain ``nn.Conv2d`` with the same expanded filter shape: the limit the layer can reach (what
  separates the layer from it is building its filter bank and bias, also timed alone: a robust
  measure of the overhead, where the full steps differ by less than the noise of a shared machine);
* escnn's ``R2Conv`` between the same field types (regular representations of C4 / D4, the same
  number of channels), which builds its filters from a steerable basis at every training forward.

Inputs of hidden layers require gradients, as inside a network, so the backward computes both the
weight and the input gradients.
"""

from __future__ import annotations

import warnings

import torch
from torch.nn import functional as F

from benchmarks.common import Row, clear, compare, rows_from
from symlib.layers.gconv import GroupConv, LiftingConv

PLAIN, OURS, ESCNN = "plain Conv2d (limit)", "symlib", "escnn R2Conv"
BEFORE = "symlib, filters by rotation (before #11)"
BANK, BANK_BEFORE = "symlib's filter bank alone", "symlib's filter bank alone, by rotation (before #11)"
BANK_ESCNN = "escnn's filter bank alone"


def load_escnn() -> tuple[object | None, str]:
    """``(escnn, "")`` or ``(None, why not)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import escnn
            import escnn.group._numerical as numerical
            from escnn import gspaces, nn  # noqa: F401
    except ImportError as e:  # also: a compiled dependency built for another numpy
        return None, f"not installed ({type(e).__name__})"
    # escnn 1.0.11 hands np.matrix to scikit-learn's randomized_svd, which newer scikit-learn rejects
    # (it builds the D4 bases with it); the same numbers as a plain array.
    import numpy as np

    svd = numerical.randomized_svd
    if not getattr(svd, "_symlib_compat", False):
        def randomized_svd(a, *args, **kwargs):
            return svd(np.asarray(a), *args, **kwargs)
        randomized_svd._symlib_compat = True
        numerical.randomized_svd = randomized_svd
    return escnn, ""


def cases(device: torch.device) -> list[tuple[str, str, str, int, int, int, int, int]]:
    """``(name, kind, group, c_in, c_out, batch, size, padding)``: the hidden layer of Cohen &
    Welling's P4CNN (10 channels, 3×3, valid padding, on 26×26 maps) and its lifting layer, a wider
    layer, and the book's own scale: chapter 07's p4-CNN (8→16 channels on 8×8 digits, batch 32); on a
    GPU also two cases with enough work per step that kernel launches do not dominate."""
    batch = 128 if device.type == "cuda" else 32
    return [
        ("P4CNN hidden, p4, 10→10 ch, 26²", "group", "p4", 10, 10, batch, 26, 0),
        ("P4CNN hidden, p4m, 10→10 ch, 26²", "group", "p4m", 10, 10, batch, 26, 0),
        ("P4CNN lifting, p4, 1→10 ch, 28²", "lift", "p4", 1, 10, batch, 28, 0),
        ("wide, p4, 32→32 ch, 14²", "group", "p4", 32, 32, batch // 2, 14, 0),
        ("wide, p4m, 32→32 ch, 14²", "group", "p4m", 32, 32, batch // 2, 14, 0),
        ("book ch07, p4, 8→16 ch, 8², batch 32", "group", "p4", 8, 16, 32, 8, 1),
    ] + ([("P4CNN hidden, p4, 10→10 ch, 26², batch 2048", "group", "p4", 10, 10, 2048, 26, 0),
          ("wide, p4, 64→64 ch, 28², batch 256", "group", "p4", 64, 64, 256, 28, 0)]
         if device.type == "cuda" else [])   # a GPU step at the sizes above is launch-bound: more work


def _escnn_layer(escnn, kind: str, group: str, c_in: int, c_out: int, padding: int):
    gspace = escnn.gspaces.flipRot2dOnR2(N=4) if group == "p4m" else escnn.gspaces.rot2dOnR2(N=4)
    rep_in = gspace.trivial_repr if kind == "lift" else gspace.regular_repr
    f_in = escnn.nn.FieldType(gspace, c_in * [rep_in])
    f_out = escnn.nn.FieldType(gspace, c_out * [gspace.regular_repr])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return escnn.nn.R2Conv(f_in, f_out, 3, padding=padding), f_in


def _case(escnn, why: str, device: torch.device, threads: int, rounds: int, amp: bool, name: str,
          kind: str, group: str, c_in: int, c_out: int, batch: int, size: int, padding: int) -> list[Row]:
    torch.manual_seed(0)
    layer_cls = LiftingConv if kind == "lift" else GroupConv
    ours = layer_cls(c_in, c_out, 3, group=group, padding=padding).to(device)
    order, out = ours.order, size + 2 * padding - 2
    x = torch.randn(batch, c_in, *([] if kind == "lift" else [order]), size, size, device=device)
    x.requires_grad_(kind != "lift")                     # a hidden layer also computes dL/dx

    def flat():
        # every candidate reads the same tensor the same way (an input that is a leaf of its own
        # would cost the plain conv an extra ~20% here, in autograd's handling of its gradient)
        return x if kind == "lift" else x.flatten(1, 2)
    plain = ours.export()
    gy = torch.randn(batch, c_out * order, out, out, device=device)

    def step_ours():
        clear(ours, x)
        ours(x).backward(gy.view(batch, c_out, order, out, out))

    def step_before():
        clear(ours, x)
        w, b = ours._transform(ours.weight), ours._expanded_bias()
        F.conv2d(flat(), w, b, padding=ours.padding).backward(gy)

    def step_plain():
        clear(plain, x)
        plain(flat()).backward(gy)

    bank_grad = torch.randn_like(ours.expanded_weight())

    def bank(build):
        def step():
            clear(ours)
            b = ours._expanded_bias()
            torch.autograd.backward([build(), b], [bank_grad, torch.ones_like(b)])
        return step

    candidates = {OURS: step_ours, PLAIN: step_plain, BEFORE: step_before}
    banks = {BANK: bank(ours.expanded_weight), BANK_BEFORE: bank(lambda: ours._transform(ours.weight))}
    params = {OURS: ours.weight.numel(), BEFORE: ours.weight.numel(), PLAIN: plain.weight.numel()}
    missing = {}
    if escnn is None:
        missing[ESCNN] = missing[BANK_ESCNN] = why
    else:
        conv, f_in = _escnn_layer(escnn, kind, group, c_in, c_out, padding)
        conv = conv.to(device).train()                  # train mode: filters rebuilt every forward

        def step_escnn():
            clear(conv, x)
            conv(escnn.nn.GeometricTensor(flat(), f_in)).tensor.backward(gy)

        def bank_escnn():
            clear(conv)
            filt, b = conv.expand_parameters()
            torch.autograd.backward([filt] + ([b] if b is not None else []),
                                    [bank_grad] + ([torch.ones_like(b)] if b is not None else []))
        candidates[ESCNN], banks[BANK_ESCNN] = step_escnn, bank_escnn
        params[ESCNN] = conv.weights.numel()
    times = compare(candidates | banks, device=device, threads=threads, rounds=rounds, min_run_time=0.5,
                    amp=amp)
    rows = rows_from("gconv", name + (", bf16 autocast" if amp else ""), times,
                     {"vs plain Conv2d": PLAIN, "vs symlib": OURS}, missing)
    for r in rows:
        if r.impl in params:
            r.note = f"{params[r.impl]:,} weights"
        if r.impl in (BANK, BANK_BEFORE, BANK_ESCNN) and r.seconds is not None:
            r.ratios = {k: v for k, v in r.ratios.items() if k == "vs plain Conv2d"}   # share of a step
            r.note = "forward + backward of the filter bank and bias only"
    return rows


def run(device: torch.device, threads: int, rounds: int, quick: bool = False, amp: bool = False) -> list[Row]:
    """``amp``: every candidate under bf16 autocast (the ratio to the plain ``Conv2d`` in bf16)."""
    escnn, why = load_escnn()
    return [row for case in cases(device)[: 2 if quick else None]
            for row in _case(escnn, why, device, threads, rounds, amp, *case)]
