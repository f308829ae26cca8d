"""What the log benchmarks compare Foresight's miner with, and how they score grouping.

Plain Drain3 (`drain3.TemplateMiner`) with no masking, and with the masking rules of
Drain3's example config (examples/drain3.ini), the usual way Drain3 is deployed. Grouping
accuracy (GA) is the measure of the Loghub and Drain papers.
"""
from collections import Counter, defaultdict

from drain3 import TemplateMiner as Drain3Miner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

DRAIN3_EXAMPLE_MASKS = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]


def drain3_miner(with_masks: bool) -> Drain3Miner:
    config = TemplateMinerConfig()
    config.profiling_enabled = False
    if with_masks:
        config.masking_instructions = [MaskingInstruction(p, name) for p, name in DRAIN3_EXAMPLE_MASKS]
    return Drain3Miner(config=config)


def drain3_grouper(with_masks: bool):
    """A function body -> cluster id, on a fresh Drain3 miner."""
    miner = drain3_miner(with_masks)
    return lambda body: miner.add_log_message(body)["cluster_id"]


def grouping_accuracy(truth: list, mined: list) -> float:
    """Share of lines whose mined group holds exactly the lines of their true template."""
    truth_sizes = Counter(truth)
    groups = defaultdict(list)
    for t, m in zip(truth, mined):
        groups[m].append(t)
    correct = sum(len(members) for members in groups.values()
                  if len(set(members)) == 1 and truth_sizes[members[0]] == len(members))
    return correct / len(truth)
