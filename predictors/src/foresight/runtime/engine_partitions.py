"""An engine's state cut by Kafka partition, for replicas that hand partitions over.

Each series remembers the partition ("topic/partition") its points came from
(`SeriesStore.origin`). A partition's state is the rows (engine_state's form) of its
series, of the predictor targets those series are, and of the policy's risk level of each
target's prediction, plus every predictor's config (so a changed model config starts the
models afresh, as after a restart). The logs kind's part of a partition is each service
whose log lines came from it: its template counts, with the templates as text (each
replica's template miner numbers its own), and its risk level. The rest stays with the
replica: the event clock, the template miner itself, and the service graph and incidents
(from the traces it reads, shared by runtime.peers).
"""
import logging

from . import engine_state

log = logging.getLogger(__name__)

PARTITIONED = ("series", "target", "policy")


def partition_of_row(engine, section: str, name: str, key, by_name: dict | None = None) -> str | None:
    """The partition a row belongs to; None for the replica's own rows."""
    origin = engine.store.origin
    if section == "series":
        return origin.get(key)
    by_name = by_name if by_name is not None else {p.config.name: p for p in engine.predictors}
    predictor = by_name.get(name)
    if predictor is None:
        return None
    if predictor.reads_logs:  # a service's logs: the partition they came from (the whole miner: None)
        return engine.log_origin.get(log_service(section, key)) if section in ("target", "policy") else None
    if section == "target":
        return origin.get(key)
    if section == "policy":
        return origin.get(predictor.source_series(key))
    return None


def export_partitions(engine, partitions) -> dict[str, list]:
    """partition -> its rows, for each of `partitions` (a partition without series has only
    the config rows)."""
    rows = engine_state.export_rows(engine)
    configs = [row for row in rows if row[0] == "config"]
    out = {partition: list(configs) for partition in partitions}
    by_name = {p.config.name: p for p in engine.predictors}
    for predictor in engine.log_readers:  # each service's template counts, not the whole miner
        services = [service for service, origin in engine.log_origin.items() if origin in out]
        rows += [("target", predictor.config.name, key, state)
                 for key, state in predictor.export_services(services).items()]
    for row in rows:
        if row[0] in PARTITIONED:
            partition = partition_of_row(engine, *row[:3], by_name)
            if partition in out:
                out[partition].append(row)
    return out


def drop_partitions(engine, partitions) -> list[tuple]:
    """Forget every series of `partitions` and what the predictors and policies kept for them;
    returns the prediction keys to withdraw."""
    partitions = set(partitions)
    keys = [key for key, origin in engine.store.origin.items() if origin in partitions]
    gone = set(keys)
    withdrawn = []
    for predictor in engine.predictors:
        if predictor.reads_logs:
            continue
        policy = engine.policies[predictor.config.name]
        for identity in predictor.predictions_of(gone):
            policy.forget(identity)
            withdrawn.append(identity)
    services = [service for service, origin in engine.log_origin.items() if origin in partitions]
    for service in services:
        del engine.log_origin[service]
    for predictor in engine.log_readers:  # the logs kind: that service's template counts
        for identity in predictor.forget_services(services):
            engine.policies[predictor.config.name].forget(identity)
            withdrawn.append(identity)
    engine.store.drop(keys)
    engine.forget_series(keys)
    engine.incidents.forget(withdrawn)
    return withdrawn


def import_partition(engine, partition: str, rows) -> engine_state.ImportReport:
    """Take a partition's rows back into a running engine; its series are tagged with it."""
    rows = [row for row in rows if row[0] in PARTITIONED + ("config",)]
    report = engine_state.import_rows(engine, rows)
    log_readers = {p.config.name: p for p in engine.log_readers}
    for section, name, key, _ in rows:
        if section == "series":
            engine.store.tag(key, partition)
        elif section == "target" and name in log_readers:
            service = log_service(section, key)
            if service is not None and log_readers[name].keeps(service):  # its logs come from here now
                engine.log_origin[service] = partition
    return report


def log_service(section: str, key) -> str | None:
    """The service of a logs kind's row: its target key is (("service", name),), its policy
    key the prediction's (predictor, labels). None for the whole miner's row, or a bad key."""
    try:
        return dict(key[1] if section == "policy" else key).get("service")
    except (IndexError, TypeError, ValueError):
        return None


__all__ = ["PARTITIONED", "drop_partitions", "export_partitions", "import_partition", "log_service", "partition_of_row"]
