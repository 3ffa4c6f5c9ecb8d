"""Provider credentials behind an HTTPS proxy: a fake proxy and a TLS origin on 127.0.0.1 (no other network).

The proxy records every byte it receives. The token must reach the origin on every attempt (after timeouts,
5xx and 429) and never appear in what the proxy saw: each attempt is a ``CONNECT`` tunnel carrying TLS."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("httpx")
x509 = pytest.importorskip("cryptography.x509")

from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from wattwise.grid import http  # noqa: E402

TOKEN = "s3cr3t-token-4f9a"
HOSTS = ["api.electricitymap.org", "api.watttime.org", "other.example"]


def _cert(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wattwise test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in HOSTS]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    crt, k = tmp / "cert.pem", tmp / "key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return crt, k


def _read_head(conn: socket.socket) -> bytes:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def _serve(sock: socket.socket, handle: Callable[[socket.socket], None]) -> None:
    """Accept connections until the socket is closed, each handled in its own thread."""
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


class Origin:
    """A TLS HTTP server; each request gets the next scripted answer: 'slow', a status, or 'ok'."""

    def __init__(self, crt: Path, key: Path, script: list) -> None:
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(crt, key)
        self.script = list(script)
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=_serve, args=(self.sock, self._handle), daemon=True).start()


    def _handle(self, raw: socket.socket) -> None:
        try:
            conn = self.ctx.wrap_socket(raw, server_side=True)
            head = _read_head(conn)
            self.requests.append(head)
            what = self.script.pop(0) if self.script else "ok"
            if what == "slow":
                time.sleep(1.5)
                what = 503
            if isinstance(what, tuple):  # a redirect
                status, location = what
                conn.sendall(f"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n"
                             "Connection: close\r\n\r\n".encode())
            elif what == "ok":
                body = json.dumps({"zone": "DE", "carbonIntensity": 321}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            else:
                extra = "Retry-After: 0\r\n" if what == 429 else ""
                conn.sendall(f"HTTP/1.1 {what} Err\r\n{extra}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                             .encode())
            conn.close()
        except (OSError, ssl.SSLError):
            pass


class Proxy:
    """An HTTP proxy: CONNECT is tunnelled to the origin; anything else is recorded and refused."""

    def __init__(self, origin_port: int) -> None:
        self.origin_port = origin_port
        self.seen: list[bytes] = []  # every byte received from clients, per connection
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        threading.Thread(target=_serve, args=(self.sock, self._handle), daemon=True).start()


    def _handle(self, conn: socket.socket) -> None:
        idx = len(self.seen)
        with self.lock:
            self.seen.append(b"")
        head = _read_head(conn)
        self.seen[idx] += head
        if not head.startswith(b"CONNECT "):
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.close()
            return
        up = socket.create_connection(("127.0.0.1", self.origin_port))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(src: socket.socket, dst: socket.socket, record: bool) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    if record:
                        self.seen[idx] += data
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(up, conn, False), daemon=True).start()
        pump(conn, up, True)


@pytest.fixture
def tls(tmp_path, monkeypatch):
    crt, key = _cert(tmp_path)
    for v in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_DIR"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(crt))
    monkeypatch.setattr(http, "SLEEP", lambda s: None)

    def start(script: list) -> tuple[Origin, Proxy]:
        origin = Origin(crt, key, script)
        proxy = Proxy(origin.port)
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{proxy.port}")
        return origin, proxy

    return start


def _assert_tunnelled(proxy: Proxy, host: str) -> None:
    assert proxy.seen, "the request did not go through the proxy"
    for raw in proxy.seen:
        assert raw.startswith(f"CONNECT {host}:443 ".encode()), raw[:80]
        assert TOKEN.encode() not in raw
        assert b"Basic" not in raw and b"auth-token" not in raw.lower()


def test_token_only_inside_tls_tunnel_across_failed_attempts(tls):
    origin, proxy = tls(["slow", 503, 429, "ok"])
    got = http.get_json("electricitymaps", "https://api.electricitymap.org/v3/carbon-intensity/latest",
                        {"zone": "DE"}, headers={"auth-token": TOKEN}, timeout=0.5, retries=3)
    assert got["carbonIntensity"] == 321
    assert len(origin.requests) == 4  # every attempt reached the origin, each through its own tunnel
    assert all(f"auth-token: {TOKEN}".lower().encode() in r.lower() for r in origin.requests)
    assert len(proxy.seen) == 4
    _assert_tunnelled(proxy, "api.electricitymap.org")


def test_basic_auth_through_proxy_after_5xx(tls):
    import base64

    basic = base64.b64encode(f"me:{TOKEN}".encode()).decode()
    origin, proxy = tls([502, 500])
    with pytest.raises(http.ProviderError) as ei:
        http.get_json("watttime", "https://api.watttime.org/login", headers={"Authorization": f"Basic {basic}"},
                      timeout=0.5, retries=1)
    assert ei.value.status == 500 and basic not in str(ei.value)
    assert len(origin.requests) == 2 and all(basic.encode() in r for r in origin.requests)
    for raw in proxy.seen:
        assert basic.encode() not in raw
    _assert_tunnelled(proxy, "api.watttime.org")


def test_redirect_to_plain_http_is_refused(tls):
    origin, proxy = tls([(302, "http://api.electricitymap.org/v3/x")])
    with pytest.raises(http.ProviderError, match="HTTPS"):
        http.get_json("electricitymaps", "https://api.electricitymap.org/v3/y", headers={"auth-token": TOKEN},
                      timeout=0.5, retries=2)
    assert len(origin.requests) == 1  # not retried, not followed
    _assert_tunnelled(proxy, "api.electricitymap.org")


def test_cross_origin_redirect_drops_the_token(tls):
    origin, proxy = tls([(302, "https://other.example/elsewhere"), "ok"])
    got = http.get_json("electricitymaps", "https://api.electricitymap.org/v3/y", headers={"auth-token": TOKEN},
                        timeout=0.5)
    assert got["zone"] == "DE"
    assert TOKEN.encode() in origin.requests[0] and TOKEN.encode() not in origin.requests[1]
    assert proxy.seen[1].startswith(b"CONNECT other.example:443 ")


def test_plain_http_provider_url_is_refused():
    with pytest.raises(http.ProviderError, match="non-HTTPS"):
        http.get_json("x", "http://api.electricitymap.org/v3/y", headers={"auth-token": TOKEN})
