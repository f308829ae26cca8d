"""Predictor plugins. `foresight.registry` maps kind names to these classes."""
