"""The model lifecycle's alert rule, generated beside the predictors' groups:
ForesightModelDrift (info) while a champion's live track record has drifted
(foresight_model_drift, runtime.scorecard and lifecycle.drift). `trainer` retrains on it."""
from foresight.contracts.metric_names import MODEL_DRIFT

DRIFT_HOLD = "10m"  # the sidecar holds a detection for hours: a short `for:` only rides out a missed scrape


def drift_group(runbooks: str) -> dict:
    """The `foresight-lifecycle` group: one alert per predictor whose champion drifted."""
    signals = ('{{- $signals := "" -}}'
               f'{{{{- range query (printf "max by (signal) ({MODEL_DRIFT}{{predictor=%q}}) == 1" $labels.predictor) -}}}}'
               '{{- if $signals -}}{{- $signals = printf "%s, " $signals -}}{{- end -}}'
               '{{- $signals = printf "%s%s" $signals (label "signal" .) -}}{{- end -}}')
    rule = {
        "alert": "ForesightModelDrift",
        "expr": f"max by (predictor) ({MODEL_DRIFT}) == 1\n",
        "for": DRIFT_HOLD,
        "labels": {"severity": "info", "kind": "lifecycle"},
        "annotations": {
            "summary": "Predictor {{ $labels.predictor }}: its model no longer fits the live data",
            "description": (signals + "\nThe live track record of predictor {{ $labels.predictor }}'s champion has "
                            "drifted ({{ $signals }}: Page-Hinkley on its scaled forecast error, p10-p90 coverage "
                            "or alarm rate). `foresight trainer` retrains it and registers a challenger; promote "
                            "it once its scorecard is better (docs/lifecycle.md)."),
            "runbook_url": f"{runbooks}#foresightmodeldrift",
        },
    }
    return {"name": "foresight-lifecycle", "rules": [rule]}


__all__ = ["DRIFT_HOLD", "drift_group"]
