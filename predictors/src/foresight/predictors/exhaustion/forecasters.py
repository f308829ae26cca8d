"""Candidate trend forecasters for the `exhaustion` predictor.

Each candidate reads the same mirrored history of one target (daily profile already taken
out, since its last reset) and gives a central growth rate per second. Which one a target
uses is decided by its own rolling-origin error (model_selection.py), not by hand.

- `robust-trend`: multi-scale Theil-Sen lines (fitted in exhaustion.py; cheap, refit often);
- `ets-damped`: statsmodels Holt exponential smoothing with a damped additive trend, on
  15-minute means; its rate is the mean growth over the forecast horizon, so the damping
  counts;
- `stl-trend`: statsmodels STL (daily period) or MSTL (daily and weekly, given two weeks)
  on 30-minute means; its rate is a line through the last hours of the trend component.

- `prophet` (opt-in: listed in `candidates`, with the prophet package installed): Prophet on
  15-minute means since the last reset over `season_history`, with its own daily (from two
  days) and weekly (from two weeks) seasonality; its rate is the mean growth of its trend
  over the forecast horizon. The fitted model is kept as Prophet's JSON (its own
  serialiser) in the target's state, and the next fit starts from its parameters.

The statsmodels fits cost milliseconds, so they run rarely (`model_refit_every`), on
downsampled data, staggered across targets. A Prophet fit costs about a tenth of a second.
"""
import logging
import warnings

import numpy as np

ROBUST, ETS, STL_TREND, PROPHET = "robust-trend", "ets-damped", "stl-trend", "prophet"
CANDIDATES = (ROBUST, ETS, STL_TREND)  # the default
KNOWN = CANDIDATES + (PROPHET,)  # what `candidates` may list
CYCLE_HISTORY = "cycle-history"  # a young cycle's rate taken from the cycles before it
DAILY_PEAKS = "daily-peaks"  # the trend of a daily cycle's peaks (peaks.py) set the time to failure

WEEK = 7 * 86400.0
_ETS_STEP = 900.0
_ETS_MIN_POINTS = 8  # two hours of 15-minute means
# Fixed smoothing constants: optimising them costs ~8x per fit and is poorly determined on a
# few hours of means; the per-target choice between candidates does the adapting.
_ETS_PARAMS = dict(smoothing_level=0.3, smoothing_trend=0.05, damping_trend=0.98)
_STL_STEP = 1800.0
_STL_DAY = int(86400 / _STL_STEP)
_STL_TREND_TAIL = 6 * 3600.0  # the trend component's recent slope
_PROPHET_STEP = 900.0
_PROPHET_MIN_SPAN = 86400.0


def load_statsmodels():
    """Import the statsmodels parts used here (about a second): done when a predictor is
    built, so the cost does not land in the first evaluation of a running service."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.seasonal import MSTL, STL
    return ExponentialSmoothing, STL, MSTL


def load_ets_initialisation():
    """statsmodels' initial level and trend of exponential smoothing (its "simple" and
    "heuristic" methods), which ets-damped starts from as statsmodels itself does."""
    from statsmodels.tsa.exponential_smoothing.initialization import (_initialization_heuristic,
                                                                        _initialization_simple)
    return _initialization_simple, _initialization_heuristic


def bin_means(t: np.ndarray, v: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Means over `step`-second bins aligned to the newest point; empty bins filled linearly.

    Returns the bin end times (oldest first) and their means. Gaps in scraping become
    interpolated bins, so the statsmodels fits see an evenly spaced series.
    """
    if t.size == 0:
        return t, v
    end = t[-1]
    idx = ((end - t) // step).astype(int)  # 0 is the newest bin
    n = int(idx.max()) + 1
    counts = np.bincount(idx, minlength=n)
    sums = np.bincount(idx, v, minlength=n)
    times = end - step * np.arange(n)
    have = counts > 0
    means = np.empty(n)
    means[have] = sums[have] / counts[have]
    if not have.all():
        means[~have] = np.interp(times[~have], times[have][::-1], means[have][::-1])
    return times[::-1], means[::-1]


def ets_damped_rate(t: np.ndarray, v: np.ndarray, horizon: float) -> float | None:
    """Mean growth per second over `horizon` of a damped-trend Holt model, or None when too short."""
    bt, bv = bin_means(t, v, _ETS_STEP)
    if bt.size > 1 and bt[0] - t[0] < 0.5 * _ETS_STEP:
        bt, bv = bt[1:], bv[1:]  # the oldest bin is mostly empty: its mean is one point's noise
    if bv.size < _ETS_MIN_POINTS or np.ptp(bv) == 0:
        return 0.0 if bv.size >= _ETS_MIN_POINTS else None
    steps = max(1, int(round(horizon / _ETS_STEP)))
    ahead, level_now = _holt_damped(bv, steps)
    return float((ahead - level_now) / (steps * _ETS_STEP))


def _holt_damped(y: np.ndarray, steps: int) -> tuple[float, float]:
    """statsmodels' ExponentialSmoothing(y, trend="add", damped_trend=True,
    initialization_method="estimated").fit(optimized=False, **_ETS_PARAMS): the forecast
    `steps` ahead and the last fitted level, equal to its `forecast(steps)[-1]` and
    `level[-1]` bit for bit (tests/test_exhaustion_speed.py compares them). Its own
    initial values; its recursion in the same order of operations, without the DataFrames
    it builds around each pass, which cost it about ten times the arithmetic."""
    initial_simple, initial_heuristic = load_ets_initialisation()
    # statsmodels' "estimated" start: the heuristic from 10 observations, else the first two
    init = initial_simple if y.size < 10 else initial_heuristic
    l0, b0, _ = init(y, "add", False, 0)
    alpha, beta, phi = _ETS_PARAMS["smoothing_level"], _ETS_PARAMS["smoothing_trend"], _ETS_PARAMS["damping_trend"]
    y_alpha = (alpha * y).tolist()
    alphac, betac = 1 - alpha, 1 - beta

    def last_level_and_trend(level, trend):
        for ya in y_alpha:
            new = ya + alphac * (level + trend * phi)
            trend = beta * (new - level) + betac * (trend * phi)
            level = new
        return level, trend

    l0, b0 = float(l0), float(b0)  # Python floats: the same IEEE arithmetic as numpy's, faster
    level_fit, _ = last_level_and_trend(l0, b0)
    # forecast() runs the recursion again from the fit's parameters, where the initial
    # trend comes back as (b0 * phi) / phi
    level, trend = last_level_and_trend(l0, b0 * phi / phi)
    phi_h = np.cumsum(np.repeat(phi, steps + 1) ** np.arange(1, steps + 2))
    return float(level + trend * phi_h[steps - 1]), float(level_fit)


def stl_trend_rate(t: np.ndarray, v: np.ndarray) -> float | None:
    """Recent slope per second of the STL (or, with two weeks, MSTL) trend; None under two days."""
    if t.size == 0 or t[-1] - t[0] < 2 * 86400.0:
        return None
    bt, bv = bin_means(t, v, _STL_STEP)
    if np.ptp(bv) == 0:
        return 0.0
    _, STL, MSTL = load_statsmodels()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if bt[-1] - bt[0] >= 2 * WEEK:
            trend = MSTL(bv, periods=(_STL_DAY, 7 * _STL_DAY)).fit().trend
        else:
            trend = STL(bv, period=_STL_DAY).fit().trend
    tail = bt >= bt[-1] - _STL_TREND_TAIL
    return float(np.polyfit(bt[tail] - bt[-1], np.asarray(trend)[tail], 1)[0])


def load_prophet():
    """Import Prophet (a second or two): done when a predictor that lists it is built."""
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)  # a line per fit otherwise
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # plotting is not used
    from prophet import Prophet
    from prophet.serialize import model_from_json, model_to_json
    from prophet.utilities import warm_start_params
    return Prophet, model_to_json, model_from_json, warm_start_params


def prophet_rate(t: np.ndarray, v: np.ndarray, horizon: float, models: dict) -> float | None:
    """Mean growth per second over `horizon` of Prophet's trend; None under a day. Keeps the
    fitted model in `models["prophet"]` (Prophet's JSON) and starts the next fit from it."""
    if t.size == 0 or t[-1] - t[0] < _PROPHET_MIN_SPAN:
        return None
    bt, bv = bin_means(t, v, _PROPHET_STEP)
    if np.ptp(bv) == 0:
        return 0.0
    Prophet, model_to_json, model_from_json, warm_start_params = load_prophet()
    import pandas as pd  # Prophet's own dependency

    days = float(bt[-1] - bt[0]) / 86400.0
    frame = pd.DataFrame({"ds": pd.to_datetime(bt, unit="s"), "y": bv})

    def fit(**init):
        model = Prophet(daily_seasonality=days >= 2, weekly_seasonality=days >= 14, yearly_seasonality=False,
                        uncertainty_samples=0)
        return model.fit(frame, **init)

    fitted = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecations inside Prophet
        if models.get(PROPHET):
            try:
                fitted = fit(init=warm_start_params(model_from_json(models[PROPHET])))
            except (ValueError, RuntimeError, KeyError, IndexError):  # its seasonalities changed: fit afresh
                fitted = None
        if fitted is None:
            try:
                fitted = fit()
            except RuntimeError as exc:  # the optimiser failed on odd data
                raise ValueError(f"prophet: {exc}") from None
        models[PROPHET] = model_to_json(fitted)
        trend = fitted.predict(pd.DataFrame({"ds": pd.to_datetime([bt[-1], bt[-1] + horizon], unit="s")}))["trend"]
    return float((trend.iloc[1] - trend.iloc[0]) / horizon)
