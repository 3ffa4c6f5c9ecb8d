"""Energy sensors: one module per source, all behind the :class:`~wattwise.sensors.base.Sensor` protocol."""

from wattwise.sensors.base import Availability, Counter, Sensor
from wattwise.sensors.discover import all_sensors, choose_sensors

__all__ = ["Availability", "Counter", "Sensor", "all_sensors", "choose_sensors"]
