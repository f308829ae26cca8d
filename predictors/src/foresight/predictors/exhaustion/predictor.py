"""`exhaustion`: forecast a resource towards its limit and give time to failure.

The model, per target:
- a daily profile (seasonality.py) once two whole days agree, taken out before fitting;
- robust trends: Theil-Sen lines over the recent window (since the last reset, at least
  MIN_FIT_SPAN of it; after a level shift: shifts.py) and its recent half and quarter, plus
  a deseasonalised day on seasonal series; their slopes give the forecast and its range;
- a gauge updated less often than it is scraped (a staircase: held.py) is fitted on its
  updates, not its scrapes; a leak that climbs in steps (steps.py) on its day's steps;
- the series' track record: quantiles of its realised-to-forecast growth
  (GrowthCalibration) set the central time to failure and widen the range;
- its past cycles: resets that stopped short of the limit (ResetHistory) lower the
  probability that this cycle reaches it;
- the central growth rate comes from one of several named forecasters (forecasters.py:
  robust trends, statsmodels damped-trend ETS, STL/MSTL trend), chosen per target by its
  own rolling-origin error at alerting horizons (model_selection.py): Prediction.model.
The crossing is searched along trend plus profile (CrossingPath). Refits are amortised
(`refit_every`, staggered across targets) so 10,000 series fit in the inference loop.
"""
import math
import zlib

import numpy as np

from foresight.contracts.predictions import PUBLISHED_HORIZONS, TTF_QUANTILES, Prediction
from foresight.predictors.base import Predictor
from foresight.predictors.peers import live
from foresight.store import SeriesStore, Window

from .bursts import outside_bursts
from .calibration import GrowthCalibration
from .config import ExhaustionConfig
from .crossing import CrossingPath
from .forecasters import (CYCLE_HISTORY, DAILY_PEAKS, ETS, PROPHET, ROBUST, STL_TREND, ets_damped_rate, load_prophet, load_statsmodels,
                          prophet_rate, stl_trend_rate)
from .held import HELD_WINDOWS, is_held, updates
from .history import bursts_of, deseasonalised_day, since_reset
from .limits import LimitIndex, limit_value
from .model_selection import ModelSelector
from .peaks import fit_peak_trend, update_today
from .peers import joined_late, pattern_unknown, peer_outlier
from .resets import RESET_WITHIN, falls_ahead, last_reset, reset_threshold
from .seasonality import DAY, fit_profile, left_the_day
from .state import TargetState, next_due
from .steps import CHECK_STEPS, step_gap, steps_line
from .sawtooth import is_sawtooth, upper_envelope
from .trends import MIN_FIT_SPAN, Z80, TrendFit, fit_multiscale, fit_trend, levelling, still_rising, value_forecast

DEPARTURE = 4.0
RECENT = 900.0  # the last quarter hour: where the series is now
PEAK_SPREAD_FLOOR = 0.02  # of the series' range: a few daily peaks can lie on a line by chance


class ExhaustionPredictor(Predictor):
    Config = ExhaustionConfig

    def __init__(self, config):
        super().__init__(config)
        self._targets: dict[tuple, TargetState] = {}
        self._limit_index: tuple[list | None, dict] = (None, {})
        self.model_fit_errors = 0  # statsmodels fits that raised: counted, and the candidate skipped
        self._pending: list[tuple] = []  # scheduled refits of this loop's targets, run by refit_pending()
        policy = config.policy  # the windows a failure probability is given for
        self._alert_windows = (policy.critical_within, policy.warning_within, policy.info_within)
        self._windows = sorted(set(PUBLISHED_HORIZONS) | set(self._alert_windows))
        if set(config.candidates) - {ROBUST}:
            load_statsmodels()
        if PROPHET in config.candidates:
            load_prophet()

    def evaluate(self, store: SeriesStore) -> list[Prediction]:
        self.refit_pending()  # a caller that did not run the last loop's refits: before predicting
        predictions = super().evaluate(store)
        typical = pairs = None  # the median time watched and the live series, worked out only if a target is judged
        for p in predictions:  # at risk, and its own daily pattern not known: judged against its peers (peers.py)
            if pattern_unknown(p, self.config.policy) and self._targets[tuple(sorted(self.source_labels(p.key).items()))].at_risk:
                if typical is None:
                    typical = float(np.median([q.history_seconds for q in predictions]))
                    pairs = live(store, store.targets_matching(self.config.series))
                p.peer_outlier = peer_outlier(own := self.source_series(p.key), store.windows.get(own), pairs,
                                              lambda key: self.limit_for(dict(key[1]), store), self.config.sign,
                                              p.timestamp - min(p.history_seconds, self.config.lookback), p.timestamp,
                                              late=joined_late(p.history_seconds, typical))
        return predictions

    def refit_pending(self):
        """The scheduled refits of the last evaluate(), on the data it saw, for the next one. A
        refit that raises leaves the target without a fit: the next evaluation refits it at
        once, and withdraws its prediction if that raises too."""
        pending, self._pending = self._pending, []
        for labels, state, window, sign, limit, now in pending:
            try:
                self._refit(state, window, sign, limit, now)
            except Exception as exc:
                state.fit = None
                self.record_error(exc, f"the refit of target {labels}")

    def raw_history(self) -> float:
        """The trend is fitted on raw points over `lookback`, resets found within 15 minutes."""
        return self.config.lookback + RESET_WITHIN

    def selectors(self) -> list:
        return [s for s in (self.config.series, self.config.limit_series) if s is not None]

    def limit_for(self, labels: dict, store: SeriesStore) -> float | None:
        if self.config.limit is not None:
            return self.config.limit
        limits = store.matching(self.config.limit_series)
        if self._limit_index[0] is not limits:  # index when the limit series change, not per target
            self._limit_index = (limits, LimitIndex(limits, self.config.limit_match_on))
        return limit_value(self._limit_index[1].find(labels), self.config.sign)  # None: no limit

    def _state(self, labels: dict) -> TargetState:
        key = tuple(sorted(labels.items()))
        state = self._targets.get(key)
        if state is None:
            cfg = self.config
            phase = zlib.crc32(repr(key).encode()) % 1000 / 1000 * cfg.refit_every
            state = self._targets[key] = TargetState(GrowthCalibration(check_after=cfg.lookback), phase)
            state.selector = ModelSelector(horizons=(cfg.selection_horizon / 2, cfg.selection_horizon), default=ROBUST)
        return state

    def _young(self, state: TargetState, window: Window, now: float) -> bool:
        """Watched for less than `min_history` (from the store's first point: it keeps days), never at its limit."""
        return now - float(window.times[0]) < self.config.policy.min_history and not state.failures_seen()

    def _slow_phase(self, state: TargetState, mix: int) -> float:
        """The target's place, in [0, 1), in a slower refit cycle (the daily profile's, the
        candidates'). Not its place in the trend's cycle: a slow refit waits for a trend
        refit, so targets sharing a trend minute would all do their slow refits in the same
        one minute of every five. `mix` (prime to 1000) shuffles the phases evenly."""
        return (state.refit_phase / self.config.refit_every * mix) % 1.0

    def _refit(self, state: TargetState, window: Window, sign: float, limit: float, now: float) -> bool:
        """Refit the trend on the mirrored series since its last reset; the daily profile hourly."""
        cfg = self.config
        if now >= state.profile_due:
            t, v = window.arrays(since=now - cfg.season_history)
            state.profile = fit_profile(t, sign * v, now)  # resets are part of a daily pattern
            cycle = state.resets.cycle_start[0] if state.resets.cycle_start is not None else -math.inf
            state.peaks = (fit_peak_trend(t, sign * v, state.profile, now, PEAK_SPREAD_FLOOR * float(np.ptp(v)), cycle)
                           if state.profile is not None else None)
            state.burst, state.burst_top = (0.0, 0.0) if state.sawtooth else bursts_of(state, window, sign, limit, now)
            # Staggered like the trend refits, so targets do not all refit in the same hour's minute.
            first = state.profile_due == -math.inf
            share = self._slow_phase(state, 53) if first else 1.0
            state.profile_due = (now + max(share, 0.01) * cfg.season_refit_every if first
                                 else next_due(state.profile_due, now, cfg.season_refit_every, state.unseen))
        t, v = window.arrays(since=now - cfg.lookback)
        v = sign * v
        if state.peaks is not None:
            update_today(state.peaks, window, sign, t, v, now)
        falls = falls_ahead(t, v)
        _, day = window.arrays(since=now - DAY)
        # A burst falls back to where it rose from: a reset falls that much further.
        state.reset_drop = reset_threshold(sign * day, sign * limit, falls, cfg.reset_drop_ratio) + state.burst_top
        reset = last_reset(t, v, state.reset_drop, falls)
        if reset is not None:
            peak, bottom = reset
            cycle = state.resets.cycle_start
            state.resets.record(float(t[peak]), float(v[peak]), sign * limit, float(t[bottom]), float(v[bottom]))
            if state.resets.cycle_start is not cycle:
                state.peaks = None  # the peaks of the cycle that ended; refitted with the profile
            t, v, falls = t[bottom:], v[bottom:], falls[bottom:]
        if is_held(v):  # a staircase (held.py): fitted on its updates, not its scrapes
            found = updates(*since_reset(state, window, sign, now - HELD_WINDOWS * cfg.lookback), cfg.min_points)
            if found is None and self._young(state, window, now):
                state.fit = None  # a few steps of a young target: a warm-up in steps would look like a leak
                return False
            if found is not None:
                (t, v), falls = found, falls_ahead(*found)
        if state.profile is not None:
            v = v - state.profile.at(t)
        if state.burst > 0.0 and t.size >= cfg.min_points:  # the trend runs under the bursts
            keep = outside_bursts(t, v, state.burst, now)
            t, v, falls = t[keep], v[keep], falls[keep]
        young_cycle = state.resets.cycle_start is not None and now - state.resets.cycle_start[0] < cfg.lookback / 2
        prior = None
        if young_cycle:
            prior = state.resets.prior_fit(t, v, now, state.fit.residual_sd if state.fit else 0.0)
        if (t.size < cfg.min_points or reset is not None and now - t[0] < MIN_FIT_SPAN) and prior is None:
            state.fit = None
            return False
        first = state.fit_time == -math.inf
        if reset is not None and float(t[0]) > state.reset_since:
            state.rates, state.models_due = {}, -math.inf  # rates from before a reset are void
        if prior is not None:  # too little of this cycle yet: its predecessors speak for it
            fit, state.model, state.peak_offset = prior, CYCLE_HISTORY, 0.0
        else:
            # The day's slope speaks for a seasonal target, and for a bursty one: under its bursts
            # a slow leak hardly moves in the last hours.
            long = (self._day(state, window, sign, now)
                    if state.profile is not None or state.burst > 0.0 else None)
            if (long is not None and state.profile is not None and left_the_day(t, v, long[1], state.profile, now - RECENT)
                    and still_rising(t, v, now, 2 * RECENT, cfg.min_points)):
                long = None  # a new regime within the day (a bad deploy's leak): the day's slope would hide it
            state.peak_offset = 0.0
            span = max(sign * limit, float(np.max(sign * day))) - min(sign * limit, float(np.min(sign * day)))
            if is_sawtooth(t, v, falls, span):
                fit = self._sawtooth_fit(state, window, sign, now)
            elif state.profile is None and self._stepped(state, today := long or self._day(state, window, sign, now)):
                fit = steps_line(*today, now, cfg.min_points, state.step_gap)  # a leak in steps: the day's line
            else:
                fit = fit_multiscale(t, v, now, cfg.min_points, long)
            if fit is None:  # a sawtooth's or a stepped cycle's first hours: no trend yet
                state.fit = None
                return False
            fit = self._select_model(state, window, sign, limit, now, fit, first)
            if self._young(state, window, now):
                # A young target's rise that levels off is a start-up ramp or a warm-up, not a leak: its
                # recent trend and the noise about it speak for it (a line through the bend overstates both).
                ramp = levelling(t, v, now, cfg.min_points)
                if ramp is not None and ramp.recent.level + ramp.remaining_rise + 2 * ramp.recent.residual_sd < limit * sign:
                    fit, state.model, state.peak_offset = ramp.fit(), ROBUST, 0.0
        state.fit, state.fit_time, state.reset_since = fit, now, float(t[0])
        # The first refit comes after a per-target phase; later ones keep that stagger.
        state.next_refit = (now + state.refit_phase if first
                            else next_due(state.next_refit, now, cfg.refit_every, state.unseen))
        return True

    def _sawtooth_fit(self, state: TargetState, window: Window, sign: float, now: float) -> TrendFit | None:
        """On a short sawtooth (a heap between collections), one line through the envelope of the
        day since the last reset: lines over the last hours follow the teeth's rising edges, a
        slow leak under them shows over a day. None until a whole envelope window is in."""
        if not state.sawtooth:  # track records of lines through the teeth are void
            state.sawtooth, state.calibration, state.calibrations = True, GrowthCalibration(self.config.lookback), {}
        envelope = upper_envelope(*self._day(state, window, sign, now))
        if envelope is None or envelope[0].size < self.config.min_points:
            return None
        *line, state.peak_offset = envelope
        return fit_trend(*line, now)

    def _day(self, state: TargetState, window: Window, sign: float, now: float):
        """The last day as the fits read it (history.deseasonalised_day)."""
        return deseasonalised_day(state, window, sign, now, self.config.min_points)

    def _stepped(self, state: TargetState, day: tuple) -> bool:
        """Whether the target climbs in steps (steps.py): once seen to, it does from then on. When
        first seen, its track records (of lines over the last hours) are void, and its new record
        checks each forecast after about CHECK_STEPS steps."""
        if (gap := step_gap(*day)) and not state.step_gap:
            state.calibration, state.calibrations = GrowthCalibration(max(self.config.lookback, CHECK_STEPS * gap)), {}
        state.step_gap = gap or state.step_gap
        return bool(state.step_gap)

    def _select_model(self, state: TargetState, window: Window, sign: float, limit: float, now: float,
                      robust: TrendFit, first: bool) -> TrendFit:
        """Refresh the candidates' rates when due, then take the central rate from the choice.

        The statsmodels candidates refit every `model_refit_every` (staggered); each refit is
        an origin of the rolling-origin record. Between refits a chosen candidate's rate is held.
        """
        cfg = self.config
        if now >= state.models_due:
            if first:  # stagger the first statsmodels fits across targets, like the trend refits
                state.models_due = now + self._slow_phase(state, 37) * cfg.model_refit_every
            else:
                state.rates = self._candidate_rates(state, window, sign, limit, now, robust)
                state.selector.remember(now, robust.level - state.peak_offset, state.rates)
                state.models_due = next_due(state.models_due, now, cfg.model_refit_every, state.unseen)
        state.robust_fit = robust
        choice = state.selector.choose()
        rate = state.rates.get(choice) if choice != ROBUST else None
        if rate is None:
            state.model = ROBUST
            return robust
        state.model = choice
        # The range keeps the robust fits' doubt and reaches the chosen rate.
        return TrendFit(robust.level, rate, min(robust.slope_low, rate), max(robust.slope_high, rate), robust.residual_sd)

    def _candidate_rates(self, state: TargetState, window: Window, sign: float, limit: float, now: float,
                         robust: TrendFit) -> dict:
        cfg = self.config
        rates = {ROBUST: robust.slope}
        if ETS in cfg.candidates:
            t, v = self._day(state, window, sign, now)
            rates[ETS] = self._safely(ets_damped_rate, t, v, cfg.selection_horizon)
        # STL's job is to separate a daily cycle from the trend: fitted where one was found.
        if STL_TREND in cfg.candidates and state.profile is not None:
            t, v = since_reset(state, window, sign, now - cfg.season_history)
            rates[STL_TREND] = self._safely(stl_trend_rate, t, v)
        if PROPHET in cfg.candidates:  # opt-in; it fits its own daily cycle, like STL
            t, v = since_reset(state, window, sign, now - cfg.season_history)
            rates[PROPHET] = self._safely(prophet_rate, t, v, cfg.selection_horizon, state.models)
        return rates

    def _safely(self, fit, *args) -> float | None:
        """A candidate's rate, or None when its fit fails on odd data: the service keeps running."""
        try:
            rate = fit(*args)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            self.model_fit_errors += 1
            return None
        return rate if rate is None or math.isfinite(rate) else None

    def _predict(self, labels: dict, window: Window, store: SeriesStore, now: float) -> Prediction | None:
        cfg = self.config
        limit = self.limit_for(labels, store)
        if limit is None:
            return None
        sign = cfg.sign  # a draining resource is mirrored
        state = self._state(labels)
        state.unseen, state.seen_at = now - state.seen_at, now
        drop = state.reset_drop
        last = sign * window.last_value
        # Refit at once when there is no fit or the series drops (a reset). A young target also
        # refits (at most once a minute) when the newest point falls below the fitted line by
        # more than DEPARTURE residual spreads: a start-up ramp that has just flattened must not
        # keep its page until the next scheduled refit. A point far above the line waits for that
        # refit: a spike fitted at once would page. A scheduled refit (amortised) of a target not
        # near an alert waits until this loop's predictions are out (refit_pending): off the
        # inference loop's critical path.
        urgent = state.fit is None
        if not urgent:
            off = last - (state.level_at(now) - state.peak_offset) - state.season_at(now)
            urgent = off < -drop or (now - state.fit_time >= 60.0 and self._young(state, window, now)
                                     and -off > DEPARTURE * max(state.fit.residual_sd, 1e-9 * abs(limit)))
        scheduled = not urgent and now >= state.next_refit
        if (urgent or scheduled and state.at_risk) and not self._refit(state, window, sign, limit, now):
            return None
        if scheduled and not state.at_risk:
            self._pending.append((labels, state, window, sign, limit, now))
        fit = state.fit
        level = state.level_at(now)
        last_cycle = state.resets.cycle_start[0] if state.resets.cycle_start is not None else -math.inf
        season_now = state.season_at(now)
        state.selector.observe(now, last - season_now, reset_since=last_cycle)
        robust_family = state.model in (ROBUST, CYCLE_HISTORY)
        # Every candidate's track record is kept against the robust fit's level and range, so
        # the robust record is the same whichever candidate is chosen.
        robust = fit if robust_family else state.robust_fit
        robust_level = robust.level + robust.slope * (now - state.fit_time)
        rates = {ROBUST: robust.slope}
        rates.update((name, rate) for name, rate in state.rates.items() if name != ROBUST)
        for name, rate in rates.items():
            record = state.calibration_for(name)
            record.observe(now, robust_level, reset_since=state.reset_since, noise=robust.residual_sd)
            if rate is not None and robust.slope_high - robust.slope_low <= abs(rate):
                # Learn only from forecasts made while the scales agreed: one made across a
                # change of regime (flat, then a ramp) says nothing about the series' habits.
                record.remember(now, robust_level, rate)
        model = state.model
        if not robust_family and fit.slope < robust.slope_low:
            # The chosen rate is below the robust trend's whole range: it has not caught up
            # with a change (a leak that began after a long flat spell). Until it does, the
            # robust trend speaks for this target: time to failure and probability alike.
            fit, level, model, robust_family = robust, robust_level, ROBUST, True
        calibration = state.calibration_for(model)
        track = calibration if calibration.speaks_for(fit.slope) else None
        # A burst's top reaches the limit before the trend does (bursts.py): the trend's crossing
        # is searched with the limit lowered by the bursts' height.
        path = CrossingPath(sign * limit - state.burst, level, now, cfg.horizon, state.profile, season_now)
        if track is not None:  # the track record sets the centre; the range covers both sources of doubt
            high, mid, low = (fit.slope * m for m in track.quantiles(tuple(1 - q for q in TTF_QUANTILES)))
            slopes = [max(high, fit.slope_high), mid, min(low, fit.slope_low)]
        else:
            slopes = [fit.slope_high, fit.slope, fit.slope_low]
        # A point, not the line, reaches the limit first. Of the many points before the line
        # gets there, one Z80 residual SDs above it is to be expected: the centre is the
        # crossing of a limit that much nearer, p10 of one twice as near, p90 of the limit
        # itself (once the line is there, half the points are above it).
        scatter = Z80 * fit.residual_sd
        ttf = dict(zip(TTF_QUANTILES, path.times_to_cross(slopes, [2 * scatter, scatter, 0.0])))
        policy = cfg.policy
        # Past cycles that stopped short of the limit make this one likely to stop short too.
        reach = state.resets.reach_now(level + season_now, window, sign, limit, now - 2 * RECENT)
        probability = {w: reach * p for w, p in zip(self._windows, path.probabilities(fit, self._windows, track))}
        if not robust_family:
            # An alert needs the robust trend to agree: a forecaster chosen on its average
            # error can still be the one that overreacts to a step or a burst, and the
            # robust trend's own track record is the longest this target has.
            robust_path = CrossingPath(sign * limit - state.burst, robust_level, now, cfg.horizon, state.profile,
                                       season_now)
            robust_track = state.calibration if state.calibration.speaks_for(robust.slope) else None
            # An imminent crossing (within critical_within) is judged by the robust trend
            # alone: a challenger that adapts slowly to a fresh ramp must not hold back a page.
            robust_probability = {w: reach * p for w, p in
                                  zip(probability, robust_path.probabilities(robust, list(probability), robust_track))}
            probability = {w: robust_probability[w] if w <= policy.critical_within else min(p, robust_probability[w])
                           for w, p in probability.items()}
        if state.peaks is not None and state.peaks.take_crossings(sign * limit, now, cfg.horizon, ttf, probability, reach):
            model = DAILY_PEAKS
        # Near an alert (at or above the level an alert stays at), the next scheduled refit is
        # inside the loop: an alert must not outlast its cause by a loop (and then its `for:`).
        state.at_risk = max(probability[w] for w in self._alert_windows) >= policy.probability - policy.hysteresis
        if reach < 1.0:  # quantiles of a mixture: with 1 - reach, no crossing at all
            conditional = dict(ttf)
            ttf = {q: conditional[min(TTF_QUANTILES, key=lambda c: abs(c - q / reach))] if q <= reach else math.inf
                   for q in TTF_QUANTILES}
        forecast = value_forecast(fit, level - state.peak_offset, [state.season_at(now + h) for h in PUBLISHED_HORIZONS], sign)
        prediction = Prediction(
            failures_seen=state.failures_seen(),
            predictor=cfg.name, labels=labels, timestamp=now,  # Predictor.evaluate sets the target's identity
            observed=window.last_value, limit=limit, trend_per_second=sign * fit.slope,
            ttf=ttf, probability=probability, forecast=forecast,
        )
        prediction.model = model  # which forecaster set the central rate
        prediction.daily_profile_days = state.profile.days if state.profile is not None else 0
        prediction.burst_height = state.burst
        return prediction
