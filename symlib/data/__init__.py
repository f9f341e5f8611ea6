"""Data the chapters use, generated or loaded from files that ship with installed packages. The one
exception is :mod:`symlib.data.rotated_mnist` (``full`` scale only), which downloads its archive
when, and only when, its ``load`` is called."""
