"""Integrations with frameworks and launchers (torch.distributed, ...)."""
