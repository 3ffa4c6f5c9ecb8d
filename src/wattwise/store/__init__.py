"""Run store: a run row plus its samples, phases and counters (SQLite by default, PostgreSQL by URL)."""

from wattwise.store.connect import open_store
from wattwise.store.records import CounterRow, PhaseRow, RunRecord, SampleRow
from wattwise.store.sql import SqlStore

__all__ = ["CounterRow", "PhaseRow", "RunRecord", "SampleRow", "SqlStore", "open_store"]
