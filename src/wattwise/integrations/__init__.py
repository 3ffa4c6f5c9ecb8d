"""Bridges to other tools: Prometheus exporter, MLflow logging."""
