"""Data sources, each turned into observations: SCB's exports (`scb_export`), PxWebApi 2.0
(`pxweb`, `jsonstat`), Kolada (`kolada`), Polisen (`polisen`), Skolverket (`skolverket`),
Segregationsbarometern (`segregation`), the bundled package (`bundle`); the HTTP client with
its response cache (`http`), the fetch pipeline of `utanforskap hamta` (`fetch`), shared parsing
helpers (`parsing`), and `result.SourceResult`."""

__all__ = [
    "bundle", "fetch", "http", "jsonstat", "kolada", "parsing", "polisen", "pxweb", "result",
    "scb_export", "segregation", "skolverket", "vintage_keys",
]
