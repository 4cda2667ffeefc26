"""Swedish number formats for everything a user reads (CLI, reports, web).

Kept free of heavy imports: every command uses it.
"""

from __future__ import annotations


def format_number(value) -> str:
    """Swedish number format: 710 000 (narrow no-break space), 0,5; missing as –."""
    if value is None or value != value:  # None or NaN
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
    return f"{int(value):,}".replace(",", "\u202f")


def format_percent(value, decimals: int = 1) -> str:
    """A share as a Swedish percentage: 0.653 -> 65,3 %."""
    if value is None or value != value:
        return "–"
    return f"{100 * value:.{decimals}f}".replace(".", ",").replace("-", "−") + "\u00a0%"


def format_short(value, digits: int = 6) -> str:
    """A Swedish number without trailing zeros: 0.7 -> 0,7; 3.0 -> 3; 12500 -> 12 500;
    -0.5 -> −0,5 (the minus sign, not a hyphen). Missing as –."""
    if value is None or value != value:
        return "–"
    text = f"{float(value):,.{digits}g}" if abs(float(value)) < 10**digits else f"{float(value):,.0f}"
    if "e" in text:
        text = f"{float(value):,.{digits}f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u202f").replace(".", ",").replace("-", "−")


# A cell that starts with one of these is run as a formula by Excel and LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """Text a user wrote, made safe for a spreadsheet cell: a leading formula character gets an
    apostrophe so the cell stays text; everything else is returned as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
