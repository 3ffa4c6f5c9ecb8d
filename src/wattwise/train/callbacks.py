"""Trainer callbacks: Hugging Face ``TrainerCallback`` and a PyTorch Lightning callback (optional extra).

Both are thin adapters over :class:`wattwise.train.TrainingMonitor`: energy and CO2 per step/epoch go into
the run and the trainer's logs; the budget stops (after saving a checkpoint) or warns; energy-aware early
stopping reads the evaluation metric; the forecast of the whole run is logged as it is updated. At the end
the HF callback builds the model-card ``co2_eq_emissions`` entry (emissions in grams CO2e).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from wattwise import __version__
from wattwise.errors import WattwiseError
from wattwise.export import check_training_type
from wattwise.footprint import J_PER_KWH, Footprint
from wattwise.train.monitor import TrainingMonitor

try:  # transformers is an optional extra ([ml])
    from transformers import TrainerCallback as _HFBase
except ImportError:  # pragma: no cover - exercised only without the extra
    _HFBase = object  # type: ignore[assignment,misc]


def co2_eq_emissions(
    monitor: TrainingMonitor,
    *,
    training_type: str = "fine-tuning",
    geographical_location: str | None = None,
    hardware_used: str | None = None,
) -> dict:
    """The Hugging Face model-card ``co2_eq_emissions`` entry (``emissions`` in grams CO2e) of a run.

    With the run's footprint (after :meth:`TrainingMonitor.close`), ``emissions`` and ``source`` are those of the
    footprint (the intensity actually used, hour by hour where the grid data allow); else the monitor's own.
    """
    from wattwise.report.modelcard import plain_grams

    check_training_type(training_type)
    fp = monitor.footprint
    if isinstance(fp, Footprint):
        grams = fp.total_kg * 1000.0
        intensity = fp.intensity
        location = geographical_location or intensity.location
        method = f"energy {fp.measured_share:.0%} measured, {1 - fp.measured_share:.0%} modelled"
    else:
        grams = monitor.co2_g()
        intensity = monitor.intensity
        location = geographical_location or intensity.location
        method = "energy modelled"
    run_id = getattr(monitor.run, "id", None)
    card: dict[str, Any] = {
        "emissions": plain_grams(grams),
        "source": (f"wattwise {__version__}{f' run {run_id}' if run_id else ''}: {method}; intensity "
                   f"{intensity.g_per_kwh:.4g} gCO2e/kWh ({intensity.source})"),
        "training_type": training_type,
        "geographical_location": location or "unknown (world-average intensity used)",
        "hardware_used": hardware_used or _hardware(),
    }
    return card


def _hardware() -> str:
    from wattwise.hostinfo import hardware_text, host_info

    return hardware_text(host_info()) or "unknown"


def _is_eval_log(logs: dict) -> bool:
    return any(str(k).startswith(("eval_", "test_", "predict_")) for k in logs)


class WattwiseCallback(_HFBase):  # type: ignore[misc,valid-type]
    """Hugging Face ``TrainerCallback``: meters the run and applies the budget, early stopping and forecast.

    ``Trainer(..., callbacks=[WattwiseCallback(budget_kwh=0.2, early_stopping={"min_rate_fraction": 0.1})])``.
    Keyword arguments other than those below go to :class:`TrainingMonitor` (``run``, ``energy_j``,
    ``budget_kwh``, ``budget_g``, ``budget_action``, ``early_stopping``, ``intensity``, ``location``, ``pue`` ...;
    ``location="FR"`` or a zone or cloud region sets the grid intensity, as ``WATTWISE_LOCATION`` does).
    ``metric``: the evaluation metric watched by early stopping (``eval_loss``; ``mode="max"`` in the policy
    for accuracy-like metrics). ``tokens_per_step``: counted per optimiser step when given. At the end,
    :attr:`co2_eq_emissions` holds the model-card entry; it is also written to
    ``<output_dir>/co2_eq_emissions.json`` unless ``write_card=False``.

    Energy fields (``wattwise/energy_kwh``, ``wattwise/co2_g`` ...) are added to the *training* logs only, never
    to evaluation logs, so ``Trainer.create_model_card()`` does not list them as evaluation results. The callback
    moves itself to the front of the trainer's callbacks when the trainer is set up, so that every ``report_to``
    integration (MLflow, TensorBoard, W&B ...) sees the fields in the same log call.
    """

    def __init__(
        self,
        name: str = "hf-trainer",
        *,
        monitor: TrainingMonitor | None = None,
        training_type: str = "fine-tuning",
        geographical_location: str | None = None,
        hardware_used: str | None = None,
        metric: str = "eval_loss",
        tokens_per_step: int | None = None,
        write_card: bool = True,
        prefix: str = "wattwise/",
        **monitor_kwargs: Any,
    ) -> None:
        if _HFBase is object:  # pragma: no cover
            raise WattwiseError("transformers is not installed", "pip install 'wattwise[ml]'")
        check_training_type(training_type)
        self.monitor = monitor or TrainingMonitor(name, **monitor_kwargs)
        self.training_type = training_type
        self.geographical_location = geographical_location
        self.hardware_used = hardware_used
        self.metric = metric
        self.tokens_per_step = tokens_per_step
        self.write_card = write_card
        self.prefix = prefix
        self.co2_eq_emissions: dict | None = None
        self.epochs: list[dict[str, float]] = []
        self.first = False

    def _move_first(self) -> None:
        """Put this callback first in the CallbackHandler calling it (found in the calling frame).

        The Trainer adds ``report_to`` integrations before user callbacks, so they would see each log before
        we add to it. Moving ourselves while the handler iterates is safe: every later callback keeps its index.
        """
        try:
            from transformers.trainer_callback import CallbackHandler

            frame = sys._getframe(2)
            for _ in range(4):
                handler = frame.f_locals.get("self")
                if isinstance(handler, CallbackHandler):
                    if self in handler.callbacks:
                        handler.callbacks.remove(self)
                        handler.callbacks.insert(0, self)
                        self.first = True
                    return
                frame = frame.f_back  # type: ignore[assignment]
                if frame is None:
                    return
        except Exception:  # never a reason to fail the training; the fields then reach later callbacks only
            return

    def on_init_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self._move_first()

    def on_train_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if not self.first:
            self._move_first()
        self.monitor.start(total_steps=state.max_steps or None)

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if self.monitor.step(tokens=self.tokens_per_step):
            if self.monitor.budget is not None and self.monitor.budget.exceeded:
                control.should_save = True  # checkpoint before stopping at the budget
            control.should_training_stop = True
        return control

    def on_epoch_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        before = self.monitor.epoch_energy_j[-1] if self.monitor.epoch_energy_j else 0.0
        self.monitor.epoch_end()
        e = self.monitor.epoch_energy_j[-1] - before
        self.epochs.append(
            {
                "epoch": float(state.epoch or len(self.epochs) + 1),
                "energy_kwh": e / J_PER_KWH,
                "co2_g": self.monitor.co2_g(e),
            }
        )

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):  # type: ignore[no-untyped-def]
        value = (metrics or {}).get(self.metric)
        if value is not None and self.monitor.evaluate(float(value), step=state.global_step):
            control.should_training_stop = True
        return control

    def log_fields(self) -> dict[str, float]:
        """The monitor's fields under :attr:`prefix` (``wattwise/energy_kwh`` ...)."""
        return {f"{self.prefix}{k}": v for k, v in self.monitor.log_fields().items()}

    def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
        if logs is None or not self.monitor._started or _is_eval_log(logs):
            return
        fields = self.log_fields()
        logs.update(fields)  # the integrations after us log them with the training metrics
        # Trainer.log appended a copy to log_history before calling us: add the fields there too (training
        # entries only: the model card reads no field of them but "loss")
        if state.log_history and state.log_history[-1].get("step") == state.global_step \
                and not _is_eval_log(state.log_history[-1]):
            state.log_history[-1].update(fields)

    def on_train_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self.monitor.close()
        self.co2_eq_emissions = co2_eq_emissions(
            self.monitor,
            training_type=self.training_type,
            geographical_location=self.geographical_location,
            hardware_used=self.hardware_used,
        )
        out = getattr(args, "output_dir", None)
        if self.write_card and out and getattr(state, "is_world_process_zero", True):
            p = Path(out)
            p.mkdir(parents=True, exist_ok=True)
            summary = self.monitor.summary()
            fp = self.monitor.footprint
            if isinstance(fp, Footprint):  # the final figures are the footprint's, as in the card
                summary.update(energy_kwh=fp.facility_kwh, co2_g=fp.total_kg * 1000.0,
                               intensity_g_per_kwh=fp.intensity.g_per_kwh, intensity_source=fp.intensity.source,
                               logged_co2_g_basis=f"{self.monitor.intensity.g_per_kwh:.4g} gCO2e/kWh "
                                                  f"({self.monitor.intensity.source}), PUE {self.monitor.pue:g}")
            summary_doc = {
                "co2_eq_emissions": self.co2_eq_emissions,
                "summary": summary,
                "epochs": self.epochs,
            }
            (p / "co2_eq_emissions.json").write_text(json.dumps(summary_doc, indent=2, default=str))


def _lightning() -> Any:
    """``lightning.pytorch`` or ``pytorch_lightning``; a clear error without either (the callback is optional)."""
    try:
        import lightning.pytorch as pl
    except ImportError:
        try:
            import pytorch_lightning as pl  # type: ignore[no-redef]
        except ImportError:
            raise WattwiseError(
                "PyTorch Lightning is not installed",
                "pip install lightning (the Lightning callback is optional)",
            ) from None
    return pl


def _stop_for_budget(monitor: TrainingMonitor, trainer: Any, checkpoint_path: str | None) -> None:
    """Stop the Lightning trainer; a budget stop saves a checkpoint first."""
    if monitor.budget is not None and monitor.budget.exceeded:
        root = getattr(trainer, "default_root_dir", ".")
        trainer.save_checkpoint(checkpoint_path or str(Path(root) / "wattwise-budget.ckpt"))
    trainer.should_stop = True


def lightning_callback(
    name: str = "lightning",
    *,
    metric: str = "val_loss",
    checkpoint_path: str | None = None,
    **monitor_kwargs: Any,
) -> Any:
    """A PyTorch Lightning ``Callback`` doing the same as :class:`WattwiseCallback` (Lightning is optional).

    Budget stop saves ``checkpoint_path`` (default ``<default_root_dir>/wattwise-budget.ckpt``) first.
    Raises a :class:`WattwiseError` when neither ``lightning`` nor ``pytorch_lightning`` is installed.
    """
    pl = _lightning()
    monitor = TrainingMonitor(name, **monitor_kwargs)

    class WattwiseLightningCallback(pl.Callback):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.monitor = monitor

        def on_train_start(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            total = getattr(trainer, "estimated_stepping_batches", None)
            total = int(total) if total and total != float("inf") else None
            self.monitor.start(total_steps=total)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):  # type: ignore[no-untyped-def]
            if self.monitor.step():
                _stop_for_budget(self.monitor, trainer, checkpoint_path)
            if self.monitor.steps % max(int(getattr(trainer, "log_every_n_steps", 50)), 1) == 0:
                for k, v in self.monitor.log_fields().items():
                    pl_module.log(f"wattwise/{k}", v)

        def on_train_epoch_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            self.monitor.epoch_end()

        def on_validation_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            value = trainer.callback_metrics.get(metric)
            if value is not None and self.monitor.evaluate(float(value)):
                trainer.should_stop = True

        def on_train_end(self, trainer, pl_module):  # type: ignore[no-untyped-def]
            self.monitor.close()

    return WattwiseLightningCallback()
