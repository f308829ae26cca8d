"""Model lifecycle (beside the data path): the safe serialised form of each target's state,
checkpoints in a state store, model bundles in the MLflow registry, drift detection and
shadow mode. Empty for now; see docs/architecture.md."""

__all__: list[str] = []
