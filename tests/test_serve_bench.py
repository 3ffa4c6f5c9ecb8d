"""serve-bench against real OpenAI-compatible servers on 127.0.0.1: `transformers serve` with our tiny GPT,
and a minimal streaming server with failure modes (500, malformed stream, flaky) plus a closed port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import openai_test_server
from wattwise.cli import app as cli_app
from wattwise.errors import WattwiseError
from wattwise.serve import loadgen
from wattwise.store.connect import open_store


@pytest.fixture()
def server():
    srv, url = openai_test_server.start()
    yield url
    srv.shutdown()


def _bench(tmp_path: Path, url: str, *extra: str) -> tuple[int, dict | None]:
    out = tmp_path / "out"
    rc = cli_app.main(
        ["serve-bench", url, "--model", "m", "--out", str(out), "--store", str(tmp_path / "runs.db"),
         "--max-tokens", "5", *extra]
    )  # fmt: skip
    res = out / "results.json"
    return rc, (json.loads(res.read_text()) if res.exists() else None)


def test_endpoint_and_prompts(tmp_path: Path):
    assert loadgen.endpoint("http://h:1", "chat") == "http://h:1/v1/chat/completions"
    assert loadgen.endpoint("http://h:1/v1/", "completions") == "http://h:1/v1/completions"
    assert loadgen.endpoint("http://h:1/x/v1/completions", "chat") == "http://h:1/x/v1/completions"
    with pytest.raises(WattwiseError):
        loadgen.endpoint("ftp://h", "chat")
    p = tmp_path / "p.jsonl"
    p.write_text('{"prompt": "a"}\nplain line\n\n')
    assert loadgen.load_prompts(p) == ["a", "plain line"]
    p.write_text('{"text": "a"}\n')
    with pytest.raises(WattwiseError, match="prompt"):
        loadgen.load_prompts(p)


def test_bad_input_before_anything_runs(tmp_path: Path, capsys):
    rc, res = _bench(tmp_path, "http://127.0.0.1:9", "--concurrency", "0")
    assert rc != 0 and res is None
    assert "error:" in capsys.readouterr().err
    rc, res = _bench(tmp_path, "http://127.0.0.1:9", "--prompts", str(tmp_path / "missing.txt"))
    assert rc != 0 and res is None
    assert not (tmp_path / "runs.db").exists() or not open_store(tmp_path / "runs.db").list_runs()


def test_levels_counts_and_stored_phases(tmp_path: Path, server: str):
    rc, res = _bench(tmp_path, server + "/ok", "--concurrency", "1,3", "--requests", "6", "--api", "completions")
    assert rc == 0
    assert [lv["concurrency"] for lv in res["levels"]] == [1, 3]
    for lv in res["levels"]:
        assert lv["requests_ok"] == 6 and lv["requests_failed"] == 0
        assert lv["output_tokens"] == 30
        assert lv["ttft_p50_s"] > 0 and lv["itl_p50_s"] > 0 and lv["itl_p95_s"] >= lv["itl_p50_s"]
        assert lv["energy_j"] > 0 and lv["j_per_output_token"] == pytest.approx(lv["energy_j"] / 30)
        assert lv["energy_method"] in ("measured", "modelled", "mixed")
    store = open_store(tmp_path / "runs.db")
    run = store.get_run(res["run_id"])
    assert run.status == "finished"
    assert {p.name for p in store.phases(run.id)} >= {"concurrency-1", "concurrency-3"}
    assert (tmp_path / "out" / "plot.html").exists()
    # every request went to the one URL given
    assert set(openai_test_server._Handler.seen_paths) >= {"/ok/v1/completions"}


@pytest.mark.parametrize(
    ("path", "message"),
    [("/fail500", "HTTP 500"), ("/malformed", "malformed stream")],
)
def test_failing_endpoint_clear_error_results_kept(tmp_path: Path, server: str, path: str, message: str, capsys):
    rc, res = _bench(tmp_path, server + path, "--concurrency", "2", "--requests", "4")
    assert rc != 0
    err = capsys.readouterr().err
    assert "error:" in err and message in err and "Traceback" not in err
    lv = res["levels"][0]
    assert lv["requests_failed"] == 4 and any(message in k for k in lv["errors"])


def test_connection_refused(tmp_path: Path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc, res = _bench(tmp_path, f"http://127.0.0.1:{port}", "--concurrency", "1", "--requests", "2")
    assert rc != 0
    assert "cannot connect" in capsys.readouterr().err
    assert res["levels"][0]["requests_failed"] == 2


def test_partial_failures_keep_the_rest(tmp_path: Path, server: str):
    openai_test_server._Handler.counter = 0
    rc, res = _bench(tmp_path, server + "/flaky", "--concurrency", "1", "--requests", "6")
    assert rc == 0
    lv = res["levels"][0]
    assert lv["requests_ok"] == 3 and lv["requests_failed"] == 3
    assert lv["output_tokens"] == 15 and lv["j_per_request"] == pytest.approx(lv["energy_j"] / 3)


# -- a real `transformers serve` with our tiny GPT exported as a Hugging Face folder -------------------------


def _tiny_gpt_folder(out: Path) -> Path:
    from transformers import AutoTokenizer

    from wattwise.reduce.tinygpt_hf import export_hf
    from wattwise.train.tinygpt import TinyGPTConfig, TrainSettings, shakespeare, train_tinygpt

    cfg = TinyGPTConfig(vocab_size=shakespeare().tokenizer.vocab_size, block_size=128, n_layer=2, n_head=2, n_embd=64)
    train_tinygpt(5, cfg, TrainSettings(eval_every=0), out_dir=out / "ckpt")
    folder = export_hf(out / "ckpt" / "ckpt.pt", out / "hf")
    tok = AutoTokenizer.from_pretrained(folder)
    tok.chat_template = "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"  # characters of the corpus only
    tok.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_against_transformers_serve(tmp_path: Path):
    from transformers.utils.import_utils import is_serve_available

    assert is_serve_available(), "transformers serve needs fastapi, uvicorn, pydantic and openai (test extra)"
    folder = _tiny_gpt_folder(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", str(folder)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 240
        while time.time() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(url + "/health", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        for api in ("chat", "completions"):
            out = tmp_path / api
            rc = cli_app.main(
                ["serve-bench", url, "--model", str(folder), "--api", api, "--concurrency", "1,2", "--requests", "2",
                 "--max-tokens", "6", "--out", str(out), "--store", str(tmp_path / "runs.db"), "--timeout", "120"]
            )  # fmt: skip
            assert rc == 0, (tmp_path / "serve.log").read_text()[-2000:]
            res = json.loads((out / "results.json").read_text())
            for lv in res["levels"]:
                assert lv["requests_ok"] == 2, lv["errors"]
                # the server's usage count: at most 6 per request (a sampled end-of-text token may stop one early)
                assert 2 <= lv["output_tokens"] <= 12
                assert lv["ttft_p50_s"] > 0 and lv["energy_j"] > 0
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
