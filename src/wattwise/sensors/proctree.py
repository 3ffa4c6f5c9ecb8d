"""Sum a per-process figure over process trees (roots and all their descendants), skipping vanished ones."""

from __future__ import annotations

from collections.abc import Callable

import psutil


def tree_sum(pids: list[int], figure: Callable[[psutil.Process], float],
             root_extra: Callable[[psutil.Process], float] | None = None) -> float:
    """``figure`` summed over every live process of the trees rooted at ``pids`` (+ ``root_extra`` per root)."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
            if root_extra is not None:
                total += root_extra(root)
        except psutil.Error:
            continue
        for p in procs:
            try:
                total += figure(p)
            except psutil.Error:
                continue
    return total
