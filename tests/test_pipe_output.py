"""Output through a pipe is never hard-wrapped: errors, hints, tables and summaries read the same at any COLUMNS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ESTIMATE = ["estimate", "--params", "7B", "--tokens", "2T", "--hardware", "a100-80gb"]


def piped(args: list[str], columns: int, home: Path) -> subprocess.CompletedProcess:
    """``wattwise ARGS`` with stdout and stderr both pipes (not a terminal) and COLUMNS set."""
    env = {**os.environ, "COLUMNS": str(columns), "WATTWISE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "wattwise", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_error_and_hint_are_one_line_each(tmp_path):
    narrow, wide = (piped([*ESTIMATE, "--location", "nowhere-land"], c, tmp_path) for c in (40, 300))
    assert narrow.returncode != 0 and narrow.stderr == wide.stderr
    lines = narrow.stderr.splitlines()
    assert len(lines) == 2, lines
    assert lines[0] == "error: unknown location 'nowhere-land'"
    assert lines[1].startswith("  hint: did you mean: ") and len(lines[1]) > 40


def test_table_and_notes_do_not_depend_on_columns(tmp_path):
    narrow, wide = (piped([*ESTIMATE, "--intensity", "400"], c, tmp_path) for c in (40, 300))
    assert narrow.returncode == 0, narrow.stderr
    assert narrow.stdout == wide.stdout
    lines = narrow.stdout.splitlines()
    table = [line for line in lines if line[:1] in "┏┃┡│└"]
    assert table and len({len(line) for line in table}) == 1 and len(table[0]) > 40  # one width, never folded
    assert any(line.startswith("  - MFU ") and len(line) > 120 for line in lines)  # a long note stays whole


def test_run_summary_is_one_line(tmp_path):
    store = str(tmp_path / "s.sqlite")
    r = piped(["run", "--store", store, "--interval", "0.1", "--", sys.executable, "-c", "pass"], 40, tmp_path)
    assert r.returncode == 0, r.stderr
    summary = [line for line in r.stderr.splitlines() if line.startswith("wattwise: run ")]
    assert len(summary) == 1 and "details: wattwise show " in summary[0], r.stderr
