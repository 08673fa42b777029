"""The simulated world: dataclasses and the TOML loader."""
