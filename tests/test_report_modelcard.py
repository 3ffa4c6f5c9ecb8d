"""Model-card metadata: values, front-matter update that keeps other keys, bad input."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.report_fixtures import make_run, new_store
from wattwise.cli.app import main
from wattwise.errors import WattwiseError
from wattwise.report.data import load_run
from wattwise.report.modelcard import END, START, co2_metadata, markdown_section, update_card

CARD = """---
license: apache-2.0
tags:
  - text-classification
model-index:
  - name: tiny
    results: []
---

# Tiny model

Some text the user wrote.
"""


def _meta(tmp_path, **kw):
    s = new_store(tmp_path)
    rid = make_run(s, location=None, intensity=200.0, **kw)
    view = load_run(s, rid)
    return view, co2_metadata(view, "pre-training", "1x test CPU")


def test_metadata_values(tmp_path):
    view, meta = _meta(tmp_path)
    assert list(meta) == ["emissions", "source", "training_type", "geographical_location", "hardware_used"]
    # 240 J at 200 g/kWh = 240 / 3.6e6 * 200 g
    assert meta["emissions"] == pytest.approx(240 / 3.6e6 * 200, rel=1e-3)
    assert meta["training_type"] == "pre-training" and meta["hardware_used"] == "1x test CPU"
    assert "modelled" in meta["source"] and view.rec.id in meta["source"]
    with pytest.raises(WattwiseError, match="training type"):
        co2_metadata(view, "pretraining")


def test_update_card_keeps_other_keys_and_is_idempotent(tmp_path):
    view, meta = _meta(tmp_path)
    card = tmp_path / "README.md"
    card.write_text(CARD)
    section = markdown_section(view, meta)
    update_card(card, meta, section)
    update_card(card, meta, section)  # a second run replaces, never duplicates
    text = card.read_text()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["license"] == "apache-2.0" and front["tags"] == ["text-classification"]
    assert front["model-index"][0]["name"] == "tiny"
    assert front["co2_eq_emissions"]["emissions"] == meta["emissions"]
    assert "Some text the user wrote." in text and "# Tiny model" in text
    assert text.count(START) == 1 and text.count(END) == 1


def test_update_card_without_front_matter_or_file(tmp_path):
    view, meta = _meta(tmp_path)
    plain = tmp_path / "plain.md"
    plain.write_text("# Hello\n")
    update_card(plain, meta, markdown_section(view, meta))
    assert plain.read_text().startswith("---\nco2_eq_emissions:") and "# Hello" in plain.read_text()
    new = tmp_path / "new" / "README.md"
    new.parent.mkdir()
    update_card(new, meta, markdown_section(view, meta))
    assert "## Environmental impact" in new.read_text()
    bad = tmp_path / "bad.md"
    bad.write_text("---\nlicense: [unclosed\n---\n")
    with pytest.raises(WattwiseError, match="front matter is not valid"):
        update_card(bad, meta, "x")


def test_cli_modelcard(tmp_path, capsys):
    s = new_store(tmp_path)
    rid = make_run(s, intensity=100.0)
    store = ["--store", str(tmp_path / "runs.sqlite")]
    assert main(["modelcard", rid, "--json", *store]) == 0
    meta = json.loads(capsys.readouterr().out)["co2_eq_emissions"]
    assert meta["emissions"] == pytest.approx(240 / 3.6e6 * 100, rel=1e-3)
    card = tmp_path / "README.md"
    card.write_text(CARD)
    assert main(["modelcard", rid, "--write", str(card), "--training-type", "fine-tuning", *store]) == 0
    assert yaml.safe_load(card.read_text().split("---\n")[1])["co2_eq_emissions"]["training_type"] == "fine-tuning"
    live = make_run(s, "live", status="running")
    assert main(["modelcard", live, *store]) != 0
    assert "still running" in capsys.readouterr().err


def test_emissions_read_right_by_the_hubs_filter(tmp_path):
    """huggingface_hub's own emissions filter over a card we wrote and loaded with ModelCard.load."""
    hub = pytest.importorskip("huggingface_hub")
    from huggingface_hub.utils.endpoint_helpers import _is_emission_within_threshold

    from wattwise.report.modelcard import plain_grams

    for grams in (3.7e-05, 4e-07, 0.0123, 12.5, 1234.0):
        meta = {"emissions": plain_grams(grams), "source": "t", "training_type": "fine-tuning",
                "geographical_location": "FR", "hardware_used": "1 x CPU"}
        card = tmp_path / f"README-{grams}.md"
        update_card(card, meta, "section")
        loaded = hub.ModelCard.load(card)

        class Info:
            card_data = loaded.data

        assert _is_emission_within_threshold(Info(), grams * 0.99, grams * 1.01), grams
        assert not _is_emission_within_threshold(Info(), grams * 1.5, grams * 3), grams


def test_hardware_used_from_the_stored_host_and_interrupted_runs(tmp_path):
    from wattwise.store.records import RunRecord

    s = new_store(tmp_path)
    rid = make_run(s, intensity=100.0)
    view = load_run(s, rid)
    view.rec.config["host_info"] = {"cpu_model": "AMD EPYC 9654", "cpu_sockets": 2, "gpu_count": 8,
                                    "gpu_model": "NVIDIA H100 80GB HBM3"}
    assert co2_metadata(view)["hardware_used"] == "8 x NVIDIA H100 80GB HBM3, 2 x AMD EPYC 9654 (CPU)"
    view.rec = RunRecord(**{**view.rec.__dict__, "status": "interrupted"})
    with pytest.raises(WattwiseError, match="interrupted"):
        co2_metadata(view)
    assert "partial figures" in co2_metadata(view, allow_incomplete=True)["source"]
