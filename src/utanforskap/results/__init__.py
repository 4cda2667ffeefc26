"""Results for one year: the map (`karta.compute`), kommun/län/riket values (`levels`), the
calibration against published totals (`calibrate`), comparison with other lists (`compare`),
the method's inputs from a store (`inputs`), ranking within a kommun (`ranking`) and exports
(`export`)."""

__all__ = ["calibrate", "compare", "export", "inputs", "karta", "levels", "ranking"]
