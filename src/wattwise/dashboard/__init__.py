"""Local read-only web dashboard over the run store (FastAPI, server-rendered pages)."""

from wattwise.dashboard.app import create_app

__all__ = ["create_app"]
