"""Template mining with Drain3, made fast enough for a live log stream.

Plain Drain searches its prefix tree for every line. Here each line is masked first
(ids, IPs, paths and numbers become <ID>, <IP>, <PATH>, <NUM>), and a dictionary from
masked text to template id answers the common case: in a real stream the masked text
repeats, so the Drain tree search runs only for masked text not seen before.

Memory stays bounded: Drain keeps at most `max_templates` templates (least recently used
ones are evicted) and the masked-text cache is emptied when it grows past `cache_size`.
"""
import re
from functools import lru_cache

from drain3.drain import Drain, LogCluster, Node

from .masking import PLACEHOLDERS, mask

DEFAULT_MAX_TEMPLATES = 2000
DEFAULT_CACHE_SIZE = 100_000
# Chosen on half of Loghub's labelled samples (bench/bench-results/logs-loghub.md).
DEFAULT_SIMILARITY = 0.7
DEFAULT_DEPTH = 4
FIRST_WORD_SIMILARITY = 0.9


class MaskAwareDrain(Drain):
    """Drain whose similarity is the share of a template's constant words that a line repeats.

    Plain Drain divides the words two lines share by all their words and counts two
    "<IP>:<NUM>" tokens as equal words, so lines that share only their variables look
    alike, and lines with many variables look unlike their own template. Here masked
    tokens and Drain's <*> wildcards are left out of both counts: "<IP>:<NUM> GET /a <NUM>"
    and "<IP>:<NUM> POST /b <NUM>" share no constant word, while "iar <ID> dear <NUM>" and
    "iar <NUM> dear <NUM>" share all. Masked tokens also take Drain's wildcard branch of
    the prefix tree, as tokens with digits do, so "<ID> ..." and "<NUM> ..." meet.
    A line whose first word leads to no template that fits looks among all templates of
    its length, but joins one only at `FIRST_WORD_SIMILARITY`: a first word is often the
    component ("com.apple.xpc.launchd[1]:") and not part of the message, but it often names
    the event too, so only a near-identical rest of the line outweighs it.
    This runs only on cache misses, so its cost does not matter.
    """

    def tree_search(self, root_node, tokens, sim_th, include_params):
        found = super().tree_search(root_node, tokens, sim_th, include_params)
        if found is None and self.log_cluster_depth > 3:
            same_length = self.get_clusters_ids_for_seq_len(len(tokens))
            found = self.fast_match(same_length, tokens, max(sim_th, FIRST_WORD_SIMILARITY), include_params)
        return found

    def get_seq_distance(self, seq1, seq2, include_params: bool):
        constant, same, params = 0, 0, 0
        for template_token, token in zip(seq1, seq2):
            if template_token == self.param_str or _only_variables(template_token):
                params += 1
            else:
                constant += 1
                same += template_token == token
        return (same / constant if constant else 1.0), params

    def has_numbers(self, s):
        return _only_variables(s) or any(char.isdigit() for char in s)


_MASKS = re.compile("|".join(re.escape(m) for m in PLACEHOLDERS + ("<*>",)))
_CONSTANT_TEXT = re.compile("[A-Za-z0-9]")


@lru_cache(maxsize=4096)
def _only_variables(token: str) -> bool:
    """True for tokens like "<NUM>", "<IP>:<NUM>", "(<NUM>)" or "<*>,": masks and punctuation only."""
    stripped = _MASKS.sub("", token)
    return stripped != token and not _CONSTANT_TEXT.search(stripped)


class TemplateMiner:
    """Maps log bodies to template ids. Ids are small positive ints, stable while the template lives."""

    def __init__(self, similarity: float = DEFAULT_SIMILARITY, depth: int = DEFAULT_DEPTH,
                 max_templates: int = DEFAULT_MAX_TEMPLATES, cache_size: int = DEFAULT_CACHE_SIZE):
        self.drain = MaskAwareDrain(depth=depth, sim_th=similarity, max_clusters=max_templates)
        self.cache: dict[str, int] = {}
        self.cache_size = cache_size
        self.misses = 0

    def template_id(self, body: str) -> int:
        """The id of the template this line belongs to, learning a new template when none fits."""
        masked = mask(body)
        found = self.cache.get(masked)
        if found is None:
            found = self.learn(masked)
        return found

    def learn(self, masked: str) -> int:
        """Drain's tree search for masked text the cache has not seen; the slow path."""
        self.misses += 1
        if len(self.cache) >= self.cache_size:
            self.cache.clear()
        cluster, _ = self.drain.add_log_message(masked)
        self.cache[masked] = cluster.cluster_id
        return cluster.cluster_id

    def adopt(self, tokens: list[str]) -> int:
        """The id, in this miner, of a template another miner learnt (its tokens): the
        template it joins, or a new one."""
        return self.learn(" ".join(tokens))

    def template(self, template_id: int) -> str:
        """The template text, e.g. 'GET /orders/<NUM> took <NUM>ms'; Drain's own wildcard is <*>."""
        cluster = self.drain.id_to_cluster.get(template_id)
        return "<evicted>" if cluster is None else cluster.get_template()

    def touch(self, template_ids) -> list[int]:
        """Mark templates as recently used (cache hits bypass Drain) and return those Drain evicted."""
        live, gone = self.drain.id_to_cluster, []
        for tid in template_ids:
            if live.get(tid) is None:
                gone.append(tid)
            else:
                live[tid]  # noqa: B018 - reading refreshes the least-recently-used order
        if gone:
            self.forget(gone)
        return gone

    def forget(self, template_ids) -> None:
        """Drop cache entries of evicted templates, so their lines are mined afresh."""
        dead = set(template_ids)
        self.cache = {text: tid for text, tid in self.cache.items() if tid not in dead}

    @property
    def template_count(self) -> int:
        return len(self.drain.id_to_cluster)

    # -- checkpoints: plain data only (Drain3's own persistence uses jsonpickle, which can
    # run code when it loads, so it is not used) -------------------------------------
    def to_state(self) -> dict:
        """Templates (least recently used first), Drain's prefix tree and the cache."""
        drain = self.drain
        return {"similarity": drain.sim_th, "depth": drain.log_cluster_depth, "max_templates": drain.max_clusters,
                "cache_size": self.cache_size, "next_id": drain.clusters_counter, "misses": self.misses,
                "templates": [(c.cluster_id, list(c.log_template_tokens), c.size) for c in _lru_order(drain)],
                "tree": _tree_of(drain.root_node), "cache": dict(self.cache)}

    @classmethod
    def from_state(cls, state: dict) -> "TemplateMiner":
        """The miner `to_state` described; ValueError naming the part that is malformed."""
        try:
            miner = cls(float(state["similarity"]), int(state["depth"]), int(state["max_templates"]),
                        int(state["cache_size"]))
            drain = miner.drain
            for cluster_id, tokens, size in state["templates"]:
                cluster = LogCluster([str(t) for t in tokens], int(cluster_id))
                cluster.size = int(size)
                drain.id_to_cluster[cluster.cluster_id] = cluster
            drain.root_node = _node_of(state["tree"])
            drain.clusters_counter = int(state["next_id"])
            miner.cache = {str(text): int(tid) for text, tid in state["cache"].items()}
            miner.misses = int(state["misses"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"log template miner state: {type(exc).__name__}: {exc}") from None
        return miner


def _lru_order(drain: Drain) -> list:
    """Drain's templates, least recently used first (the order its LRU cache evicts in)."""
    clusters = drain.id_to_cluster
    order = getattr(clusters, "_LRUCache__order", None)  # cachetools keeps the order privately
    return [clusters.get(tid) for tid in (order if order is not None else list(clusters))]


def _tree_of(node: Node) -> dict:
    return {"ids": list(node.cluster_ids), "children": {k: _tree_of(c) for k, c in node.key_to_child_node.items()}}


def _node_of(data: dict) -> Node:
    node = Node()
    node.cluster_ids = [int(i) for i in data["ids"]]
    node.key_to_child_node = {str(k): _node_of(c) for k, c in data["children"].items()}
    return node
