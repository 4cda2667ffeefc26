"""Robusthet: how sure each listing is.

Monte Carlo over what a method declares uncertain (`[osakerhet]`: parameter ranges,
alternative rules, noise in counts), vectorised over draws x areas, and variance-based
and one-at-a-time sensitivity of the list to every uncertain parameter.

    run = simulate(prepare(...), draws=1000, seed=1)   # utanforskap.robustness.montecarlo
"""

__all__ = ["draws", "montecarlo", "output", "overview", "sensitivity", "spec", "vector"]
