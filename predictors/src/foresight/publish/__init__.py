"""Publishers: the Prometheus exposition of predictions and pipeline health."""
