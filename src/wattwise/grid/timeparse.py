"""Parse user-given times (``--at``): ISO 8601, ``now``, or epoch seconds. Naive times are UTC."""

from __future__ import annotations

from datetime import datetime, timezone

from wattwise.errors import WattwiseError


def parse_time(text: str | datetime | float | None) -> datetime:
    """A timezone-aware datetime; raises WattwiseError with an example on malformed input."""
    if text is None:
        return datetime.now(timezone.utc)
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=timezone.utc)
    if isinstance(text, (int, float)):
        return datetime.fromtimestamp(float(text), tz=timezone.utc)
    s = str(text).strip()
    if s.lower() == "now":
        return datetime.now(timezone.utc)
    try:
        return datetime.fromtimestamp(float(s), tz=timezone.utc)
    except ValueError:
        pass
    try:
        d = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
    except ValueError:
        raise WattwiseError(
            f"malformed time {text!r}",
            "use ISO 8601 such as 2026-03-01T14:00 or 2026-03-01T14:00+01:00 (UTC if no offset), or 'now'",
        ) from None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)
