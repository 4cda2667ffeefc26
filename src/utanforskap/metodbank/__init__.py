"""The metodbank: a shared registry of the municipal and national work against utanförskap
(who does what, where, for whom, against which problem, with what evidence), in a real
database (SQLite embedded, PostgreSQL shared; migrations by Alembic), with users and roles.

    from utanforskap.metodbank.db import open_database
    from utanforskap.metodbank import registry
    db = open_database()                                     # UTANFORSKAP_DATABAS or SQLite
    page = registry.search(db, registry.Actor.public(), registry.Filters(problem="skolresultat"))

Layer 6 (analysis package): imports core modules, geography and results, nothing above.
"""

__all__ = ["accounts", "db", "gaps", "models", "registry", "rounds", "rules", "schema", "seed", "transfer"]
