"""The error of a config value that cannot work: it names the key that holds the value."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config value that cannot work, with the key that holds it."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key '{key}': {message}")
        self.key = key
