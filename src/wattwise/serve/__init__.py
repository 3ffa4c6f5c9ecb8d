"""Load tests of live LLM endpoints, metered: ``wattwise serve-bench``."""
