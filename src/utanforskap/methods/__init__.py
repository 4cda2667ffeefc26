"""The method engine: a method is a TOML file (docs/metoder.md) run exactly by one engine.

Public API: `loader.load(id_or_path) -> LoadedMethod`, `engine.run(loaded, frame, parameters=None)`,
`data.read_table(path)`, `conformance` (SVI and IMD cell by cell); `model` is the file format,
`steps` the step types. Imports nothing of the project but its core modules.
"""

__all__ = ["conformance", "data", "engine", "loader", "model", "steps"]
