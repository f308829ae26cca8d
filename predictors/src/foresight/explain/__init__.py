"""Multivariate anomaly scores with SHAP attributions, and plain-word "why" explanations."""
from .drivers import Driver, DriverSettings, explain, rank_drivers
from .features import WindowFeatures, attributions_by_series, feature_matrix
from .multivariate import MultivariateDetector, MultivariateResult, MultivariateSettings

__all__ = ["Driver", "DriverSettings", "MultivariateDetector", "MultivariateResult",
           "MultivariateSettings", "WindowFeatures", "attributions_by_series", "explain", "feature_matrix", "rank_drivers"]
