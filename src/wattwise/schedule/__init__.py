"""Carbon-aware scheduling: when to run (best window, pause/resume), where to run, and hand-off to Slurm and
Kubernetes. All times are UTC."""

from wattwise.schedule.forecast import Forecast, make_forecast
from wattwise.schedule.window import Plan, Window, best_window, plan_interruptible

__all__ = ["Forecast", "Plan", "Window", "best_window", "make_forecast", "plan_interruptible"]
