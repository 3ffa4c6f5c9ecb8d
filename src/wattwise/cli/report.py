"""Report commands: ``report`` (self-contained HTML, one run or several compared) and ``modelcard``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from wattwise.cli.common import StoreOpt, check_hours, check_intensity, check_output, console, err, store_from
from wattwise.errors import WattwiseError


def register(app: typer.Typer) -> None:
    """Add the report commands to ``app``."""

    @app.command("report")
    def report_cmd(
        run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Run id(s), prefixes or 'last'; two or "
                                            "more are compared side by side."),
        output: Path | None = typer.Option(None, "--output", "-o", help="HTML file (default "
                                           "wattwise-report-<id>.html).", callback=check_output),
        per: list[str] = typer.Option([], "--per", help="SCI functional unit R, repeatable: 'token', "
                                      "'1000 inferences', 'training run' (default: each counter and the run)."),
        compare_region: list[str] = typer.Option([], "--compare-region", help="What-if region, repeatable: NAME "
                                                 "(needs grid data) or NAME=gCO2e_per_kWh."),
        compressed_run: str | None = typer.Option(None, "--compressed-run", help="A run of the compressed model "
                                                  "doing the same work, for the what-if row."),
        within: float = typer.Option(24.0, "--within", help="What-if: best start within this many hours of the "
                                     "run's start.", callback=check_hours),
        location: str | None = typer.Option(None, "--location", "-l", help="Compute CO2 for this location."),
        intensity: float | None = typer.Option(None, "--intensity", help="Grid intensity in gCO2e/kWh.",
                                               callback=check_intensity),
        mlflow: bool = typer.Option(False, "--mlflow", help="Also log energy/CO2 metrics and the report to MLflow "
                                    "(the run in MLFLOW_RUN_ID, else a new run; needs the mlflow extra)."),
        store: str | None = StoreOpt,
    ) -> None:
        """Write a self-contained HTML report of a run (plots, SCI, what-ifs), or of several runs compared."""
        from wattwise.report import ReportOptions, write_report

        s = store_from(store)
        recs = [s.get_run(r) for r in run_ids]
        for rec in recs:
            if rec.status == "running":
                err.print(f"wattwise: run {rec.id} is still running; the report shows its figures so far",
                          highlight=False)
        out = output or Path(f"wattwise-report-{recs[0].id}.html" if len(recs) == 1 else
                             f"wattwise-compare-{len(recs)}-runs.html")
        if not within > 0:
            raise WattwiseError(f"--within must be > 0 hours, got {within}")
        opts = ReportOptions(per=per, compare_regions=compare_region, compressed_run=compressed_run,
                             window_hours=within, location=location, intensity=intensity)
        path = write_report(s, [r.id for r in recs], out, opts)
        console.print(f"wrote {path} (open it in a browser; it works offline)", highlight=False)
        if mlflow:
            from wattwise.integrations.mlflow import log_to_mlflow_cli

            for rec in recs:
                target = log_to_mlflow_cli(s, rec.id, location, intensity)
                console.print(f"logged run {rec.id} to MLflow run {target}", highlight=False)

    @app.command("modelcard")
    def modelcard_cmd(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix, or 'last')."),
        write: Path | None = typer.Option(None, "--write", help="Update this model card (README.md): sets "
                                          "co2_eq_emissions in its front matter, keeps the other keys."),
        training_type: str | None = typer.Option(None, "--training-type", help="pre-training or fine-tuning "
                                                 "(default: the run's setting, else fine-tuning)."),
        hardware: str | None = typer.Option(None, "--hardware", help="Hardware used, e.g. '4 A100 80GB' "
                                            "(default: from the run's sensors)."),
        location: str | None = typer.Option(None, "--location", "-l", help="Compute CO2 for this location."),
        intensity: float | None = typer.Option(None, "--intensity", help="Grid intensity in gCO2e/kWh.",
                                               callback=check_intensity),
        as_json: bool = typer.Option(False, "--json", help="Print the metadata as JSON only."),
        allow_incomplete: bool = typer.Option(False, "--allow-incomplete", help="Accept an interrupted or failed "
                                              "run; the card's source then says its figures are partial."),
        store: str | None = StoreOpt,
    ) -> None:
        """Hugging Face model-card carbon metadata (co2_eq_emissions) and a markdown section for a run."""
        from wattwise.report.data import load_run, require_finished
        from wattwise.report.modelcard import co2_metadata, markdown_section, metadata_yaml, update_card

        view = load_run(store_from(store), run_id, location, intensity)
        require_finished(view, "model card")
        meta = co2_metadata(view, training_type, hardware, location, allow_incomplete)
        section = markdown_section(view, meta)
        if as_json:
            print(json.dumps({"co2_eq_emissions": meta}, indent=2))
        elif write is None:
            print(f"---\n{metadata_yaml(meta)}---\n\n## Environmental impact\n\n{section}")
        if write is not None:
            update_card(write, meta, section)
            err.print(f"updated {write}")
