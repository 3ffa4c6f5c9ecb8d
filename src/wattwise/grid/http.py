"""Small HTTP layer for the opt-in providers (stdlib ``urllib``): timeouts, retries with exponential backoff,
and errors that never contain credentials. Tests replace :data:`OPENER` with a fake; no test touches the
network."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from wattwise.errors import WattwiseError

DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
BACKOFF_S = 0.5
#: Headers whose values must never be shown.
SECRET_HEADERS = {"auth-token", "authorization", "x-api-key"}


class ProviderError(WattwiseError):
    """A live provider failed (network, HTTP status, bad payload). ``status`` is the HTTP code if any."""

    def __init__(self, provider: str, message: str, hint: str | None = None, status: int | None = None):
        super().__init__(f"{provider}: {message}", hint)
        self.provider = provider
        self.status = status


def _default_open(req: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, resp.read()


#: ``OPENER(request, timeout) -> (status, body)``; raises ``HTTPError``/``URLError``/``TimeoutError``
#: like urllib does. Replaced in tests.
OPENER: Callable[[urllib.request.Request, float], tuple[int, bytes]] = _default_open
SLEEP: Callable[[float], None] = time.sleep


def get_json(
    provider: str,
    url: str,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    method: str = "GET",
    data: bytes | None = None,
) -> Any:
    """GET (or POST) ``url`` and decode JSON. Retries timeouts, connection errors, 429 and 5xx with backoff
    (honouring ``Retry-After`` up to 10 s); 401/403 fail at once with a hint about the credentials."""
    if params:
        url = f"{url}?{urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})}"
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    last: ProviderError | None = None
    for attempt in range(retries + 1):
        delay = BACKOFF_S * (2**attempt)
        try:
            status, body = OPENER(req, timeout)
        except urllib.error.HTTPError as exc:
            code = exc.code
            if code in (401, 403):
                raise ProviderError(
                    provider,
                    f"HTTP {code}: credentials refused",
                    "check the token/account (environment variable or `wattwise config`)",
                    status=code,
                ) from None
            if code == 429 or code >= 500:
                last = ProviderError(
                    provider,
                    f"HTTP {code}" + (": rate limited" if code == 429 else ""),
                    "try again later",
                    status=code,
                )
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if retry_after and retry_after.isdigit():
                    delay = min(float(retry_after), 10.0)
            else:
                raise ProviderError(
                    provider, f"HTTP {code}", "check the zone/region name", status=code
                ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            kind = (
                "timeout" if isinstance(exc, TimeoutError) or "timed out" in str(reason) else "network error"
            )
            last = ProviderError(
                provider, f"{kind} ({type(reason).__name__})", "check the network or try later"
            )
        else:
            if status >= 400:
                last = ProviderError(provider, f"HTTP {status}", status=status)
            else:
                try:
                    return json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    raise ProviderError(provider, "response is not valid JSON") from None
        if attempt < retries:
            SLEEP(delay)
    assert last is not None
    raise last
