"""Grid carbon intensity: embedded tables, hourly traces, live providers (opt-in), PUE."""
