"""Offline by default: with no provider configured, no command opens a network socket or resolves a name.

Each command runs in a subprocess whose ``sitecustomize`` makes every INET socket, ``getaddrinfo`` and
``gethostbyname`` fail loudly (and records the attempt), so a lookup anywhere in wattwise or a library it
imports turns the command red. Native code is checked separately with ``strace`` (onnxruntime's telemetry)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
GUARD = textwrap.dedent('''
    import os, socket
    _LOG = os.environ["NET_GUARD_LOG"]

    def _deny(what):
        with open(_LOG, "a") as f:
            f.write(what + "\\n")
        raise OSError(f"network access in an offline test: {what}")

    _socket = socket.socket

    class GuardedSocket(_socket):
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            if fileno is None and family in (socket.AF_INET, socket.AF_INET6, -1):
                _deny(f"socket({family})")
            super().__init__(family, type, proto, fileno)

    socket.socket = GuardedSocket
    socket.getaddrinfo = lambda host, *a, **k: _deny(f"getaddrinfo({host})")
    socket.gethostbyname = lambda host: _deny(f"gethostbyname({host})")
    socket.gethostbyname_ex = lambda host: _deny(f"gethostbyname_ex({host})")
    socket.create_connection = lambda addr, *a, **k: _deny(f"create_connection({addr})")
''')
PROVIDER_ENV = ("ELECTRICITYMAPS_TOKEN", "WATTWISE_ELECTRICITYMAPS_TOKEN", "WATTTIME_USERNAME", "WATTTIME_PASSWORD",
                "WATTWISE_GRID_PROVIDER", "WATTWISE_CLOUD_DETECT", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                "http_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture()
def guarded(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "net.log"
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(SRC)]), NET_GUARD_LOG=str(log), WATTWISE_HOME=str(home),
               PYTHONNOUSERSITE="1")

    def run(*argv: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "wattwise", *argv], env={**env, **(extra_env or {})},
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        attempts = log.read_text() if log.exists() else ""
        assert not attempts, f"wattwise {' '.join(argv)} tried the network: {attempts}\n{proc.stderr[-2000:]}"
        return proc

    run.tmp = tmp_path  # type: ignore[attr-defined]
    return run


def test_guard_catches_a_lookup(guarded, tmp_path):
    """The guard itself works: a lookup in the child is seen (so the other tests can fail)."""
    with pytest.raises(AssertionError, match="tried the network"):
        guarded("intensity", "DE", "--provider", "electricitymaps",
                extra_env={"ELECTRICITYMAPS_TOKEN": "x"})


@pytest.mark.slow
def test_key_commands_make_no_network_access(guarded):
    out = guarded.tmp / "e.csv"  # type: ignore[attr-defined]
    steps = [
        ["run", "--location", "FR", "--", sys.executable, "-c", "pass"],
        ["runs"], ["show", "last"], ["show", "last", "--json"],
        ["export", "last", "-f", "codecarbon-csv", "-o", str(out)],
        ["report", "last", "-o", str(guarded.tmp / "r.html")],  # type: ignore[attr-defined]
        ["modelcard", "last", "--json"],
        ["exporter", "--once"],
        ["sensors"],
        ["config", "set", "location", "DE"], ["config", "list"],
        ["estimate", "--hardware", "a100-80gb", "--params", "7B", "--tokens", "1T", "--location", "FR"],
        ["intensity", "FR"], ["regions"],
        ["schedule", "when", "-l", "FR", "-d", "2h", "--within", "8h", "--now", "2023-06-01T00:00Z"],
        ["schedule", "where", "FR", "DE", "-d", "2h", "--within", "8h", "--now", "2023-06-01T00:00Z"],
        ["schedule", "slurm", "-l", "FR", "-d", "2h", "--within", "8h", "--now", "2023-06-01T00:00Z", "--", "j.sh"],
    ]
    for argv in steps:
        proc = guarded(*argv)
        assert proc.returncode == 0, (argv, proc.stderr[-2000:])


ORT_PROBE = textwrap.dedent('''
    import numpy as np
    import wattwise  # sets the telemetry opt-outs before onnxruntime is loaded
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    w = numpy_helper.from_array(np.ones((4, 4), dtype=np.float32), "w")
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [x], [y], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "m.onnx")
    quantize_dynamic("m.onnx", "q.onnx", weight_type=QuantType.QInt8)
    s = ort.InferenceSession("q.onnx", providers=["CPUExecutionProvider"])
    s.run(None, {"x": np.ones((1, 4), dtype=np.float32)})
    import time
    time.sleep(15)  # the telemetry uploader first resolves its host about 6-9 s after the session starts
''')


@pytest.mark.slow
def test_onnxruntime_native_code_makes_no_network_access(tmp_path):
    """strace the ONNX Runtime path reduce uses (quantize, session, run): no INET connect, no DNS."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    (tmp_path / "probe.py").write_text(ORT_PROBE)
    trace = tmp_path / "trace.txt"
    env = {**os.environ, "PYTHONPATH": os.environ.get("WATTWISE_TEST_SRC", str(SRC))}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    proc = subprocess.run([strace, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace),
                           sys.executable, "probe.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0 and "ptrace" in proc.stderr:
        pytest.skip(f"strace cannot trace here: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = trace.read_text().splitlines()
    inet = [ln for ln in lines if "AF_INET" in ln or "sin_port" in ln or "sin6_port" in ln]
    assert not inet, inet[:5]
