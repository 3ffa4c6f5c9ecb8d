"""Streaming load generator for OpenAI-compatible endpoints (``/v1/completions``, ``/v1/chat/completions``).

Requests go to the one URL given, nowhere else (no redirects followed, no proxy settings from the
environment). Each concurrency level runs a bounded number of requests under a time limit; a failed request
(connection refused, HTTP error, malformed stream, timeout) is recorded with its error and the others
carry on, so partial results are kept.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from wattwise.errors import WattwiseError

DEFAULT_PROMPTS = [
    "ROMEO: What light through yonder window breaks?",
    "To be, or not to be, that is the question:",
    "Now is the winter of our discontent",
    "All the world's a stage, and all the men and women merely players.",
    "Friends, Romans, countrymen, lend me your ears;",
    "If music be the food of love, play on;",
    "The quality of mercy is not strained.",
    "Shall I compare thee to a summer's day?",
]
MAX_ERROR_TEXT = 300


@dataclass
class RequestResult:
    """One streamed request: timings in seconds from its send."""

    ok: bool
    output_tokens: int = 0
    ttft_s: float | None = None
    itl_s: list[float] = field(default_factory=list)
    latency_s: float = 0.0
    error: str | None = None


def endpoint(url: str, api: str) -> str:
    """The request URL: ``url`` itself when it names a completions path, else ``url`` + the API's path."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WattwiseError(f"not an http(s) URL: {url!r}", "e.g. http://127.0.0.1:8000")
    if api not in ("chat", "completions"):
        raise WattwiseError(f"unknown API {api!r}", "use --api chat or --api completions")
    path = parts.path.rstrip("/")
    if path.endswith("/completions"):
        return url
    if not path.endswith("/v1"):
        path += "/v1"
    return f"{parts.scheme}://{parts.netloc}{path}/{'chat/completions' if api == 'chat' else 'completions'}"


def load_prompts(path: str | Path | None) -> list[str]:
    """Prompts from a text file (one per line) or JSON lines (``{"prompt": ...}``); built-ins without one."""
    if path is None:
        return list(DEFAULT_PROMPTS)
    p = Path(path)
    try:
        lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]
    except OSError as exc:
        raise WattwiseError(
            f"cannot read prompts file {p}: {exc.strerror}", "pass a text file, one prompt per line"
        ) from None
    out = []
    for ln in lines:
        if ln.lstrip().startswith("{"):
            try:
                obj = json.loads(ln)
            except json.JSONDecodeError:
                raise WattwiseError(f"{p}: a line is not valid JSON: {ln[:60]!r}") from None
            text = obj.get("prompt") if isinstance(obj, dict) else None
            if not isinstance(text, str):
                raise WattwiseError(f"{p}: JSON lines need a \"prompt\" string", 'e.g. {"prompt": "Hello"}')
            out.append(text)
        else:
            out.append(ln)
    if not out:
        raise WattwiseError(f"{p} holds no prompts")
    return out


def payload(model: str, prompt: str, api: str, max_tokens: int) -> dict:
    body: dict = {"model": model, "max_tokens": max_tokens, "stream": True, "temperature": 0}
    if api == "chat":
        body["messages"] = [{"role": "user", "content": prompt}]
    else:
        body["prompt"] = prompt
    return body


def _text_of(chunk: dict) -> str:
    choices = chunk.get("choices") or []
    if not choices:
        return ""
    c = choices[0]
    if "delta" in c:
        return (c.get("delta") or {}).get("content") or ""
    return c.get("text") or ""


class _EventStream:
    """Parses one response's server-sent events (split into lines here: cheaper per token than aiter_lines)
    and times its tokens into ``res``."""

    def __init__(self, res: RequestResult, t0: float) -> None:
        self.res, self.t0 = res, t0
        self.last: float | None = None
        self.usage_tokens: int | None = None
        self.done = False
        self.buf = b""

    def feed(self, raw: bytes) -> None:
        self.buf += raw
        *lines, self.buf = self.buf.split(b"\n")
        for bline in lines:
            if self.done:
                return
            self._line(bline.strip())

    def _line(self, line: bytes) -> None:
        if not line or line.startswith(b":"):
            return
        if not line.startswith(b"data:"):
            raise ValueError(f"not a server-sent event line: {line[:80]!r}")
        data = line[5:].strip()
        if data == b"[DONE]":
            self.done = True
            return
        self._event(data)

    def _event(self, data: bytes) -> None:
        now = time.perf_counter()
        chunk = json.loads(data)
        if not isinstance(chunk, dict):
            raise ValueError(f"event is not a JSON object: {data[:80]!r}")
        if "error" in chunk:
            raise ValueError(f"server error in stream: {str(chunk['error'])[:MAX_ERROR_TEXT]}")
        usage = chunk.get("usage")
        if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
            self.usage_tokens = usage["completion_tokens"]
        if _text_of(chunk):
            if self.last is None:
                self.res.ttft_s = now - self.t0
            else:
                self.res.itl_s.append(now - self.last)
            self.last = now
            self.res.output_tokens += 1

    def finish(self) -> None:
        """At the end of the body: a stream cut inside an event, or one with nothing in it, is an error."""
        if not self.done and self.buf.strip():
            raise ValueError(f"stream ended inside an event: {self.buf[:80]!r}")
        if not self.done and self.res.output_tokens == 0 and self.usage_tokens is None:
            raise ValueError("stream ended without any token or [DONE]")


async def one_request(client: httpx.AsyncClient, url: str, body: dict, timeout_s: float) -> RequestResult:
    """Send one streaming request and time its tokens; never raises for a failed request."""
    t0 = time.perf_counter()
    res = RequestResult(ok=False)
    events = _EventStream(res, t0)

    async def stream() -> None:
        async with client.stream("POST", url, json=body) as resp:
            if resp.status_code != 200:
                text = (await resp.aread()).decode("utf-8", "replace")[:MAX_ERROR_TEXT]
                res.error = f"HTTP {resp.status_code}: {text.strip() or resp.reason_phrase}"
                return
            async for raw in resp.aiter_bytes():
                events.feed(raw)
                if events.done:
                    break
            events.finish()

    try:
        await asyncio.wait_for(stream(), timeout_s)
    except (TimeoutError, asyncio.TimeoutError):
        res.error = f"timed out after {timeout_s:g} s"
    except httpx.ConnectError as exc:
        res.error = f"cannot connect to {url}: {exc or 'connection refused'}"
    except httpx.HTTPError as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    except (ValueError, json.JSONDecodeError) as exc:
        res.error = f"malformed stream: {exc}"
    res.latency_s = time.perf_counter() - t0
    if res.error is None:
        res.ok = True
        if events.usage_tokens is not None:  # the server's own count (a chunk may hold several tokens)
            res.output_tokens = events.usage_tokens
    return res


async def run_level(
    url: str,
    bodies: list[dict],
    concurrency: int,
    *,
    timeout_s: float = 60.0,
    max_seconds: float = 300.0,
) -> tuple[list[RequestResult], float]:
    """All ``bodies`` with at most ``concurrency`` in flight; stops starting new ones after ``max_seconds``.

    Returns the results (unstarted requests are left out) and the wall time.
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    results: list[RequestResult] = []
    t0 = time.perf_counter()
    deadline = t0 + max_seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty() and time.perf_counter() < deadline:
            body = queue.get_nowait()
            left = max(0.1, min(timeout_s, deadline - time.perf_counter()))
            results.append(await one_request(client, url, body, left))

    async with httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s), limits=limits, follow_redirects=False, trust_env=False
    ) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return results, time.perf_counter() - t0
