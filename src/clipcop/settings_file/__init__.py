"""Run settings as TOML files: read one into a frozen config dataclass, write a config back out.

A settings file mirrors the config it describes: top-level keys are the config's scalar fields and each
nested spec (``training``, ``geometry``, ...) is a ``[table]`` of its own. Reading checks every key and
type against the dataclass type hints and lets the specs validate their values, so any mistake in a
file surfaces as one line naming the file and the dotted key. Writing gives the complete resolved
settings (defaults included), and reading that text back yields an equal config, which lets a run
folder's ``config.toml`` say exactly how the run was made and repeat it.
"""

from clipcop.settings_file.reading import MAX_SETTINGS_BYTES, read_config, read_settings, settings_to_config
from clipcop.settings_file.writing import config_to_settings, dumps_settings, write_settings

__all__ = [
    "MAX_SETTINGS_BYTES",
    "config_to_settings",
    "dumps_settings",
    "read_config",
    "read_settings",
    "settings_to_config",
    "write_settings",
]
