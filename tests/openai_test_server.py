"""A minimal real OpenAI-compatible streaming server (http.server in a thread) with failure modes by path.

``/ok/v1/...`` streams ``tokens`` chunks then ``[DONE]``; ``/fail500/...`` answers HTTP 500;
``/malformed/...`` sends one good chunk and then a line that is not an event; ``/flaky/...`` fails every
second request with a 500.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar


class _Handler(BaseHTTPRequestHandler):
    tokens = 5
    counter = 0
    lock = threading.Lock()
    seen_paths: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _chunk(self, chat: bool, text: str) -> bytes:
        choice = {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
        return f"data: {json.dumps({'choices': [choice]})}\n\n".encode()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        mode = self.path.strip("/").split("/")[0]
        chat = self.path.endswith("/chat/completions")
        with self.lock:
            type(self).counter += 1
            n = type(self).counter
            type(self).seen_paths.append(self.path)
        if mode == "fail500" or (mode == "flaky" and n % 2 == 0):
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": "internal failure for the test"}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        want = min(int(body.get("max_tokens", self.tokens)), self.tokens)
        if mode == "malformed":
            self.wfile.write(self._chunk(chat, "a"))
            self.wfile.write(b"this is not an event\n\n")
            return
        for i in range(want):
            time.sleep(0.005)
            self.wfile.write(self._chunk(chat, f"t{i}"))
            self.wfile.flush()
        self.wfile.write(b"data: [DONE]\n\n")


def start() -> tuple[ThreadingHTTPServer, str]:
    """Start on a free port of 127.0.0.1; returns (server, base URL). Call ``server.shutdown()`` after."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"
