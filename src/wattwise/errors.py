"""User-facing errors: what was wrong and what to do about it."""

from __future__ import annotations


class WattwiseError(Exception):
    """An error caused by the user's input or environment.

    The CLI prints it as one line (``error: <message>``, plus ``hint`` when given) and exits non-zero,
    without a traceback.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotFoundError(WattwiseError):
    """A named thing (run, hardware, location, ...) does not exist."""


def close_matches(word: str, choices: list[str], n: int = 5) -> list[str]:
    """Closest valid names for ``word`` (case-insensitive), for 'did you mean' hints."""
    import difflib

    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.5)
    if not hits:
        hits = [c for c in lowered if word.lower() in c][:n]
    return [lowered[h] for h in hits]


def unknown(kind: str, word: str, choices: list[str]) -> NotFoundError:
    """A NotFoundError for an unknown name that lists the closest valid names."""
    near = close_matches(word, choices)
    hint = f"did you mean: {', '.join(near)}" if near else f"{len(choices)} known; list them with --help"
    return NotFoundError(f"unknown {kind} {word!r}", hint)
