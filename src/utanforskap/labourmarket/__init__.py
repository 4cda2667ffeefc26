"""Labour-market follow-up by sex and birth region in the listed areas (see followup.py)."""

__all__ = ["followup"]
