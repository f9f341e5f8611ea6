"""Data the chapters use, generated or loaded from files that ship with installed packages. The one
exception is :mod:`symlib.data.rotated_mnist` (``full`` scale only), which downloads its archive
when, and only when, its ``load`` is called.

Every generated dataset is the same bits on every machine (random draws from exact uniform or integer
bits, transformed by correctly rounded arithmetic: :mod:`symlib.portable`), and every dataset the
book uses is pinned by a digest (:mod:`symlib.data.digests`)."""
