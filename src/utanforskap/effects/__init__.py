"""Effekter: which measures work. Difference-in-differences (Callaway-Sant'Anna, did2s), event
studies and synthetic control on the area panel, with pre-trend, placebo and power checks.

    from utanforskap.effects import panel, run
    p = panel.build_panel(store, "brott_urval", "regso", per_thousand="befolkning")
    design = panel.make_design(p, panel.read_treated("behandlade.csv"), "ej-behandlade")
    result = run.estimate(design, "alla")
"""

__all__ = ["did", "metodbank_hook", "panel", "polisen", "power", "run", "simulate", "synth", "validate"]
