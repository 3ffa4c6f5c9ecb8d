"""Open the run store without ever writing to it (moved to :mod:`wattwise.store.readonly`)."""

from __future__ import annotations

from wattwise.store.readonly import ReadOnlyStore, open_readonly

__all__ = ["ReadOnlyStore", "open_readonly"]
