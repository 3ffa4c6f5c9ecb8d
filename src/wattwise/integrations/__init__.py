"""Bridges to other tools: torch.distributed, Prometheus exporter, MLflow logging."""
