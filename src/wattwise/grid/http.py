"""Small HTTP layer for the opt-in providers (httpx): timeouts, retries with exponential backoff, and errors
that never contain credentials. Tests replace :data:`OPENER` with a fake; no test touches the network.

Credentials never travel in cleartext: each attempt is a fresh request on a fresh connection (nothing a
failed attempt or a proxy rewrote is reused), provider URLs must be ``https://``, an HTTPS URL goes through
a proxy (``HTTPS_PROXY``/``ALL_PROXY``, honoured) only inside a ``CONNECT`` TLS tunnel, and redirects are
followed here, refusing any that leave HTTPS and dropping secret headers when they leave the origin. Plain
``http://`` is allowed only for the link-local cloud metadata service, and never through a proxy."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any

from wattwise.errors import WattwiseError

DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRIES = 2
BACKOFF_S = 0.5
MAX_REDIRECTS = 5
#: Headers whose values must never be shown, nor sent to another origin.
SECRET_HEADERS = {"auth-token", "authorization", "x-api-key"}
#: Hosts reachable over plain HTTP (the cloud instance metadata services), never through a proxy.
METADATA_HOSTS = {"169.254.169.254", "metadata.google.internal"}


class ProviderError(WattwiseError):
    """A live provider failed (network, HTTP status, bad payload). ``status`` is the HTTP code if any."""

    def __init__(self, provider: str, message: str, hint: str | None = None, status: int | None = None):
        super().__init__(f"{provider}: {message}", hint)
        self.provider = provider
        self.status = status


class InsecureURL(OSError):
    """A request or redirect that would leave HTTPS (never retried)."""


def _origin(url: Any) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


def _http_error(url: str, status: int, headers: Mapping[str, str], body: bytes) -> urllib.error.HTTPError:
    msg = Message()
    for k, v in headers.items():
        msg[k] = v
    return urllib.error.HTTPError(url, status, "HTTP error", msg, io.BytesIO(body))


def _default_open(req: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    """Send ``req`` with httpx on a new connection; follow redirects safely. Raises like urllib does
    (``HTTPError`` for status >= 400, ``TimeoutError``/``OSError`` for network failures)."""
    import httpx

    url = httpx.URL(req.full_url)
    headers = dict(req.header_items())
    method = req.get_method()
    data = req.data if isinstance(req.data, bytes) else None
    for _hop in range(MAX_REDIRECTS + 1):
        if url.scheme != "https" and not (url.scheme == "http" and url.host in METADATA_HOSTS):
            raise InsecureURL(f"refusing a non-HTTPS URL ({url.scheme}://{url.host})")
        try:
            # trust_env: proxies from the environment (HTTPS targets are always tunnelled with CONNECT) and
            # SSL_CERT_FILE; the metadata service is link-local and never proxied.
            with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=url.scheme == "https") as client:
                resp = client.request(method, url, headers=headers, content=data)
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise OSError(f"network error ({type(exc).__name__})") from None
        if resp.is_redirect and "location" in resp.headers:
            nxt = url.join(resp.headers["location"])
            if url.scheme == "https" and nxt.scheme != "https":
                raise InsecureURL(f"refusing a redirect from HTTPS to {nxt.scheme}://{nxt.host}")
            if _origin(nxt) != _origin(url):
                headers = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
            if resp.status_code in (301, 302, 303) and method != "HEAD":
                method, data = "GET", None
            url = nxt
            continue
        if resp.status_code >= 400:
            raise _http_error(str(url), resp.status_code, resp.headers, resp.content)
        return resp.status_code, resp.content
    raise OSError(f"more than {MAX_REDIRECTS} redirects")


#: ``OPENER(request, timeout) -> (status, body)``; raises ``HTTPError``/``URLError``/``TimeoutError``
#: like urllib does. Replaced in tests. It gets a new request object on every attempt.
OPENER: Callable[[urllib.request.Request, float], tuple[int, bytes]] = _default_open
SLEEP: Callable[[float], None] = time.sleep


def _retryable_http_error(provider: str, exc: urllib.error.HTTPError) -> tuple[ProviderError, float | None]:
    """The error to retry (429, 5xx) and the server's ``Retry-After`` (s, at most 10); others raise at once."""
    code = exc.code
    if code in (401, 403):
        raise ProviderError(
            provider,
            f"HTTP {code}: credentials refused",
            "check the token/account (environment variable or `wattwise config`)",
            status=code,
        ) from None
    if code != 429 and code < 500:
        raise ProviderError(provider, f"HTTP {code}", "check the zone/region name", status=code) from None
    err = ProviderError(provider, f"HTTP {code}" + (": rate limited" if code == 429 else ""), "try again later",
                        status=code)
    retry_after = exc.headers.get("Retry-After") if exc.headers else None
    return err, (min(float(retry_after), 10.0) if retry_after and retry_after.isdigit() else None)


def _decode(provider: str, body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProviderError(provider, "response is not valid JSON") from None


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
    """GET (or POST) ``url`` (HTTPS only) and decode JSON. Retries timeouts, connection errors, 429 and 5xx with
    backoff (honouring ``Retry-After`` up to 10 s); 401/403 fail at once with a hint about the credentials."""
    if urllib.parse.urlsplit(url).scheme != "https":
        raise ProviderError(provider, "refusing a non-HTTPS URL", "provider URLs must start with https://")
    if params:
        url = f"{url}?{urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})}"
    last: ProviderError | None = None
    for attempt in range(retries + 1):
        delay = BACKOFF_S * (2**attempt)
        # A fresh request each attempt: nothing a failed attempt (or proxy handling) changed is reused.
        req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
        try:
            status, body = OPENER(req, timeout)
        except urllib.error.HTTPError as exc:
            last, retry_after = _retryable_http_error(provider, exc)  # 401/403/4xx raise here
            if retry_after is not None:
                delay = retry_after
        except InsecureURL as exc:
            raise ProviderError(provider, str(exc), "the provider redirected away from HTTPS; not followed") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            kind = (
                "timeout" if isinstance(exc, TimeoutError) or "timed out" in str(reason) else "network error"
            )
            last = ProviderError(
                provider, f"{kind} ({type(reason).__name__})", "check the network or try later"
            )
        else:
            if status < 400:
                return _decode(provider, body)
            last = ProviderError(provider, f"HTTP {status}", status=status)
        if attempt < retries:
            SLEEP(delay)
    assert last is not None
    raise last
