"""Uppföljning: the map year by year, entries and exits with their reasons, frozen thresholds,
and change split into movers and stayers (docs/uppfoljning.md)."""

__all__ = ['breaks', 'export', 'frozen', 'movers', 'open_series', 'series', 'service', 'workbook']
