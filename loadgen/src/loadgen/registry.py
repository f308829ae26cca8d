"""Every scenario loadgen plays, by name: the named service scenarios and, as res-<kind>,
the resource shapes of the exhaustion benchmark (resource_scenarios.py), bending checkout's
memory, db's disk or checkout's DB connection pool."""
import numpy as np

from .conditions import normal_day, pool_wait_seconds
from .resource_scenarios import IRREGULAR, KINDS
from .scenarios import DbDegradation, DbPoolSaturation, DiskFill, ErrorSpike, HealthyDay, MemoryLeak, Scenario


def resource_scenarios() -> list[Scenario]:
    """Each kind as a loadgen Scenario bending checkout's memory, db's disk or checkout's DB pool."""
    classes = []
    bends = {"memory": MemoryLeak, "disk": DiskFill, "pool": DbPoolSaturation}
    for kind in KINDS.values():
        watched, message = bends[kind.resource].watched, bends[kind.resource].failure_message

        def conditions(self, times, start, seed, _kind=kind):
            state = normal_day(times, start, seed)
            share = np.minimum(_kind.share(np.asarray(times, dtype=np.int64), start, seed), 0.9995)
            fails = [f for _, f in _kind.episodes(start, int(np.max(times, initial=start)) + 1, seed)]
            if fails:
                share = np.where(np.isin(times, fails), 1.0, share)
            if _kind.resource == "memory":
                state.memory_bytes["checkout"] = share * _kind.limit_bytes
            elif _kind.resource == "pool":
                state.pool_in_use = np.floor(share * _kind.limit_bytes)
                state.pool_wait_s = pool_wait_seconds(state.pool_in_use, times, seed)
            else:
                state.disk_used_bytes = share * _kind.limit_bytes
            return state

        def failure_times(self, start, end, seed, _kind=kind):
            return [f for _, f in _kind.episodes(start, end, seed)]

        cls = type(
            f"Res_{kind.name.replace('-', '_')}", (Scenario,),
            {"name": f"res-{kind.name}", "description": kind.description + " (regular sampling here)"
             if kind.name in IRREGULAR else kind.description,
             "watched": watched, "failure_message": message,
             "conditions": conditions, "failure_times": failure_times},
        )
        classes.append(cls())
    return classes


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (MemoryLeak(), DbPoolSaturation(), DiskFill(), ErrorSpike(), DbDegradation(), HealthyDay(),
                     *resource_scenarios())
}


def get_scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r} (valid: {', '.join(SCENARIOS)})") from None
