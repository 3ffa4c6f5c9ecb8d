"""Hardware catalogue: accelerators and server CPUs with power, throughput, memory and embodied carbon.

Data: ``wattwise/data/hardware/catalogue.csv`` (one source per row, see SOURCES.md next to it).
"""

from wattwise.hardware.catalogue import Device, all_devices, lookup, names

__all__ = ["Device", "all_devices", "lookup", "names"]
