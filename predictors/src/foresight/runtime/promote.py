"""`foresight promote PREDICTOR --registry URL [--version N]`: move the `champion` alias.

It first prints the version's scores beside the current champion's, then moves the alias
(to the `challenger` when no --version is given). Sidecars started with the same
--registry pick the new champion up without a restart.

`--auto --scorecard URL`: reads the live scorecard from a sidecar's /metrics
(foresight_model_score, runtime.scorecard) and promotes the challenger only when it has
been better for `--days` scored days in a row and entered no more alert episodes than the
champion since it started in shadow, and the sidecar scored the version that is still
the challenger. Otherwise it says why and promotes nothing.
"""
import requests
from prometheus_client.parser import text_string_to_metric_families

from foresight.contracts.metric_names import MODEL_SCORE
from foresight.lifecycle.registry import CHALLENGER, Registry, RegistryError, model_name


def _cell(value) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def comparison(candidate, champion) -> str:
    """The two versions' scores side by side, one line per score."""
    names = sorted(set(candidate.metrics) | set(champion.metrics if champion else {}))
    head = (f"version {candidate.number}", f"champion (version {champion.number})" if champion else "champion (none)")
    width = max([len("score")] + [len(n) for n in names])
    lines = [f"{'score'.ljust(width)}  {head[0]:>22}  {head[1]:>24}"]
    for name in names:
        theirs = champion.metrics.get(name) if champion else None
        lines.append(f"{name.ljust(width)}  {_cell(candidate.metrics.get(name)):>22}  {_cell(theirs):>24}")
    return "\n".join(lines)


def promote(predictor: str, url: str, number: int | None = None, out=print) -> int:
    """Print the comparison and move `champion`; returns the version now champion.
    Raises RegistryError when the version (or, without one, the challenger) does not exist."""
    registry = Registry(url)
    if number is None:
        candidate = registry.version(predictor, alias=CHALLENGER)
        if candidate is None:
            raise RegistryError(f"registry {registry.url}: {model_name(predictor)} has no {CHALLENGER}; "
                                f"give --version N (foresight train registers versions)")
    else:
        candidate = registry.version(predictor, number=number)
    champion = registry.champion(predictor)
    out(f"{model_name(predictor)}: scores of the training runs")
    out(comparison(candidate, champion))
    if champion is not None and champion.number == candidate.number:
        out(f"version {candidate.number} is already the champion")
        return candidate.number
    registry.promote(predictor, candidate.number)
    was = f" (was version {champion.number})" if champion else ""
    out(f"champion -> version {candidate.number}{was}")
    return candidate.number


def read_scorecard(url: str, predictor: str) -> dict:
    """{(alias, score): value} of one predictor from a sidecar's /metrics. RegistryError
    (with the URL) when it cannot be read."""
    target = url.rstrip("/") + ("" if url.rstrip("/").endswith("/metrics") else "/metrics")
    try:
        response = requests.get(target, timeout=10)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise RegistryError(f"scorecard {target}: {type(exc).__name__}: {exc}") from None
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == MODEL_SCORE and sample.labels.get("predictor") == predictor:
                found[(sample.labels.get("alias"), sample.labels.get("score"))] = sample.value
    return found


def auto_verdict(card: dict, days: int, challenger_version: int | None) -> tuple[bool, str]:
    """(promote?, why) from a scorecard and the registry's challenger version."""
    if challenger_version is None:
        return False, "no challenger registered"
    scored = card.get((CHALLENGER, "version"))
    if scored is None:
        return False, "the sidecar runs no challenger in shadow (no scorecard for it yet)"
    if int(scored) != challenger_version:
        return False, f"the sidecar scored version {int(scored)}, but the challenger is now version {challenger_version}"
    better = int(card.get((CHALLENGER, "days_better"), 0))
    ours, theirs = card.get((CHALLENGER, "alert_episodes"), 0), card.get(("champion", "alert_episodes"), 0)
    if better < days:
        return False, (f"the challenger was better on {better} scored day(s) in a row of "
                       f"{int(card.get((CHALLENGER, 'days_scored'), 0))}; {days} needed")
    if ours > theirs:
        return False, f"the challenger entered {ours:.0f} alert episodes, the champion {theirs:.0f}"
    return True, f"better on the last {better} scored days, {ours:.0f} alert episodes against {theirs:.0f}"


def promote_auto(predictor: str, url: str, scorecard_url: str, days: int, out=print) -> int | None:
    """Promote the challenger when the live scorecard says so; returns the version promoted, or None."""
    registry = Registry(url)
    challenger = registry.version(predictor, alias=CHALLENGER)
    card = read_scorecard(scorecard_url, predictor)
    ok, why = auto_verdict(card, days, challenger.number if challenger else None)
    rows = sorted(card.items())
    for (alias, score), value in rows:
        out(f"{alias:<10}  {score:<30}  {_cell(value):>12}")
    if not ok:
        out(f"{model_name(predictor)}: not promoted: {why}")
        return None
    out(f"{model_name(predictor)}: version {challenger.number} {why}")
    return promote(predictor, url, challenger.number, out)


__all__ = ["auto_verdict", "comparison", "promote", "promote_auto", "read_scorecard"]
