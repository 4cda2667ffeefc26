"""utanforskap: maps, monitors and helps reduce utanförskap in Swedish neighbourhoods."""

__version__ = "0.1.0"
