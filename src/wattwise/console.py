"""Rich consoles for wattwise's output that survive a pipe.

On a terminal rich wraps to its width. Anywhere else (a pipe, a file, a CI log) a line is never hard-wrapped:
errors, hints and summaries stay one line each and tables are as wide as their content, whatever ``COLUMNS``
says.
"""

from __future__ import annotations

from rich.console import Console

#: Width given to rich when the stream is not a terminal: wider than any table we print.
PIPE_WIDTH = 10_000


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that does not wrap lines unless it writes to a terminal."""
    c = Console(stderr=stderr)
    return c if c.is_terminal else Console(stderr=stderr, width=PIPE_WIDTH, soft_wrap=True)
