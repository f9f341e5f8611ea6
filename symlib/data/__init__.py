"""Data the chapters use, generated or loaded from files that ship with installed packages:
nothing here downloads anything."""
