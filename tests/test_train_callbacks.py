"""The HF TrainerCallback on a tiny model built from a config (no hub download); Lightning if present."""

from __future__ import annotations

import json

import pytest

from wattwise.footprint import J_PER_KWH

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")


class Clock:
    """A fake meter: 1 J more each time it is read."""

    def __init__(self) -> None:
        self.j = 0.0

    def __call__(self) -> float:
        self.j += 1.0
        return self.j


def _trainer(tmp_path, callback, max_steps: int = 8, report_to: list[str] | None = None):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    torch.manual_seed(0)
    cfg = GPT2Config(
        vocab_size=65, n_positions=16, n_embd=16, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0
    )
    model = GPT2LMHeadModel(cfg)

    class DS(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 32

        def __getitem__(self, i: int) -> dict:
            x = torch.arange(i, i + 16) % 65
            return {"input_ids": x, "labels": x}

    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=max_steps,
        per_device_train_batch_size=4,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=2,
        per_device_eval_batch_size=16,
        report_to=report_to or [],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    return Trainer(model=model, args=args, train_dataset=DS(), eval_dataset=DS(), callbacks=[callback])


def test_hf_callback_logs_energy_and_writes_model_card(tmp_path) -> None:
    from wattwise.train.callbacks import WattwiseCallback

    cb = WattwiseCallback(
        energy_j=Clock(),
        training_type="pre-training",
        geographical_location="FR",
        hardware_used="test CPU",
        intensity=50.0,
        tokens_per_step=64,
    )
    tr = _trainer(tmp_path, cb)
    tr.train()
    logged = [h for h in tr.state.log_history if "loss" in h]
    assert logged and all("wattwise/energy_kwh" in h and "wattwise/co2_g" in h for h in logged)
    assert any("wattwise/forecast_energy_kwh" in h for h in logged)
    assert not any(k.startswith("wattwise/") for h in tr.state.log_history if "eval_loss" in h for k in h)
    card = cb.co2_eq_emissions
    assert card is not None
    assert set(card) == {"emissions", "source", "training_type", "geographical_location", "hardware_used"}
    assert card["training_type"] == "pre-training" and card["geographical_location"] == "FR"
    # grams = kWh x 50 g/kWh
    assert float(card["emissions"]) == pytest.approx(cb.monitor.energy_j() / J_PER_KWH * 50, rel=0.2)
    written = json.loads((tmp_path / "co2_eq_emissions.json").read_text())
    assert written["co2_eq_emissions"]["hardware_used"] == "test CPU"
    assert cb.monitor.steps == 8 and cb.monitor.tokens == 8 * 64


@pytest.mark.slow
def test_hf_trainer_card_and_integrations_get_energy(tmp_path, monkeypatch) -> None:
    """A real Trainer with four evaluations either side of the forecast warm-up and report_to MLflow and
    TensorBoard: create_model_card() works, the card loads with huggingface_hub and lists no energy as an
    evaluation result, and MLflow's file store and TensorBoard's event files hold our energy metrics."""
    mlflow = pytest.importorskip("mlflow")
    pytest.importorskip("tensorboard")
    hub = pytest.importorskip("huggingface_hub")
    from wattwise.train.callbacks import WattwiseCallback

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (tmp_path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "wattwise-test")
    monkeypatch.setenv("WATTWISE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    cb = WattwiseCallback(energy_j=Clock(), intensity=50.0, forecast_warmup=3)
    tr = _trainer(tmp_path, cb, max_steps=8, report_to=["mlflow", "tensorboard"])
    assert tr.callback_handler.callbacks[0] is cb  # moved ahead of the report_to integrations
    tr.train()
    assert sum("eval_loss" in h for h in tr.state.log_history) == 4
    tr.create_model_card(model_name="tiny")
    card = hub.ModelCard.load(tmp_path / "README.md")
    text = card.content
    assert "Energy" not in text and "Co2" not in text and "Validation Loss" in text
    # MLflow (file store): the metric history holds our fields
    client = mlflow.tracking.MlflowClient()
    exp = client.get_experiment_by_name("wattwise-test")
    (run,) = client.search_runs([exp.experiment_id])
    hist = client.get_metric_history(run.info.run_id, "wattwise/energy_kwh")
    assert len(hist) >= 3 and all(m.value > 0 for m in hist)
    assert client.get_metric_history(run.info.run_id, "wattwise/co2_g")
    # TensorBoard event files
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = {p.parent for p in (tmp_path / "tb").rglob("events.out.tfevents.*")}
    acc = EventAccumulator(str(events))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert any(t.endswith("wattwise/energy_kwh") for t in tags) and any(t.endswith("wattwise/co2_g") for t in tags)


def test_hf_card_source_and_figures_are_the_footprints(tmp_path) -> None:
    """A metered run at a location: the card's emissions and source, and the summary file, are the run's
    footprint (the intensity actually used), not the monitor's planning intensity."""
    from wattwise.train.callbacks import WattwiseCallback

    cb = WattwiseCallback(location="DE")
    tr = _trainer(tmp_path, cb, max_steps=4)
    tr.train()
    fp = cb.monitor.footprint
    assert fp is not None and fp.it_kwh > 0
    card = cb.co2_eq_emissions
    assert float(card["emissions"]) == pytest.approx(fp.total_kg * 1000, rel=1e-2)
    assert fp.intensity.source in card["source"] and card["geographical_location"] == "DE"
    written = json.loads((tmp_path / "co2_eq_emissions.json").read_text())
    assert written["summary"]["co2_g"] == pytest.approx(float(card["emissions"]), rel=1e-2)
    assert " x " in card["hardware_used"] and "(CPU)" in card["hardware_used"]


def test_hf_callback_budget_saves_and_stops(tmp_path) -> None:
    from wattwise.train.budget import BudgetWarning
    from wattwise.train.callbacks import WattwiseCallback

    cb = WattwiseCallback(energy_j=Clock(), budget_kwh=12 / J_PER_KWH)
    tr = _trainer(tmp_path, cb, max_steps=50)
    with pytest.warns(BudgetWarning):
        tr.train()
    assert tr.state.global_step < 50
    assert cb.monitor.budget is not None and cb.monitor.budget.exceeded
    assert any(p.name.startswith("checkpoint-") for p in tmp_path.iterdir())  # saved before stopping


def test_hf_callback_early_stopping(tmp_path) -> None:
    from wattwise.train.callbacks import WattwiseCallback
    from wattwise.train.early_stopping import EnergyAwareEarlyStopping

    policy = EnergyAwareEarlyStopping(Clock(), min_gain_per_kwh=1e12, window=1, patience=None)
    cb = WattwiseCallback(energy_j=Clock(), early_stopping=policy)
    tr = _trainer(tmp_path, cb, max_steps=40)
    tr.train()
    assert policy.stopped and tr.state.global_step == 4  # second evaluation: gain/kWh below the threshold


def _lightning():
    try:
        import lightning.pytorch as pl
    except ImportError:
        pl = pytest.importorskip("pytorch_lightning", reason="PyTorch Lightning: optional extra wattwise[lightning]")
    return pl


def _lightning_fit(tmp_path, callback, max_steps: int):
    import torch

    pl = _lightning()
    torch.manual_seed(0)

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            x, y = batch
            return torch.nn.functional.mse_loss(self.lin(x), y)

        def validation_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.lin(x), y))

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.SGD(self.parameters(), lr=0.05)

    x = torch.randn(64, 4)
    ds = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    loader = torch.utils.data.DataLoader(ds, batch_size=8)
    trainer = pl.Trainer(
        max_steps=max_steps, default_root_dir=str(tmp_path), callbacks=[callback], logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        accelerator="cpu", devices=1, val_check_interval=4, log_every_n_steps=1,
    )
    trainer.fit(Tiny(), loader, loader)
    return trainer


def test_lightning_callback_counts_steps(tmp_path) -> None:
    from wattwise.train.callbacks import lightning_callback

    cb = lightning_callback(energy_j=Clock())
    trainer = _lightning_fit(tmp_path, cb, max_steps=12)
    assert trainer.global_step == 12 and cb.monitor.steps == 12
    assert cb.monitor.energy_j() > 0 and not cb.monitor.should_stop


def test_lightning_callback_early_stopping(tmp_path) -> None:
    from wattwise.train.callbacks import lightning_callback
    from wattwise.train.early_stopping import EnergyAwareEarlyStopping

    policy = EnergyAwareEarlyStopping(Clock(), min_gain_per_kwh=1e12, window=1, patience=None)
    cb = lightning_callback(energy_j=Clock(), early_stopping=policy)
    trainer = _lightning_fit(tmp_path, cb, max_steps=40)
    assert policy.stopped and trainer.global_step == 8  # second validation: gain/kWh below the threshold


def test_lightning_callback_budget_saves_and_stops(tmp_path) -> None:
    from wattwise.train.budget import BudgetWarning
    from wattwise.train.callbacks import lightning_callback

    cb = lightning_callback(energy_j=Clock(), budget_kwh=10 / J_PER_KWH)
    with pytest.warns(BudgetWarning):
        trainer = _lightning_fit(tmp_path, cb, max_steps=200)
    assert trainer.global_step < 200
    assert cb.monitor.budget is not None and cb.monitor.budget.exceeded
    assert (tmp_path / "wattwise-budget.ckpt").exists()


def test_lightning_missing_is_a_clear_error(monkeypatch) -> None:
    import sys

    from wattwise.errors import WattwiseError
    from wattwise.train.callbacks import lightning_callback

    for mod in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setitem(sys.modules, mod, None)  # import of these now raises ImportError
    with pytest.raises(WattwiseError, match="Lightning is not installed"):
        lightning_callback()
