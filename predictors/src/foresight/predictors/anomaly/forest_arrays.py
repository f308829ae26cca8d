"""A fitted Isolation Forest as flat arrays: one vector's score and the SHAP explainer, cheaply.

scikit-learn's `score_samples` spends about 10 ms on one row (input checks and one joblib
call per tree), and `shap.TreeExplainer` about a second re-walking every tree in Python to
set its node values. Both are computed here from the fitted trees with numpy, with the same
arithmetic in the same order, so the scores and attributions are the ones those libraries
give (predictors/tests/test_forest_arrays.py compares them).
"""
import importlib
import sys
import threading

import numpy as np

__all__ = ["FlatForest", "average_path_length", "load_in_background"]

_loading: set = set()  # modules whose import was started on a thread


def load_in_background(*modules: str):
    """Start importing these modules on a thread, once (scikit-learn's ensemble takes about
    0.3 s, shap about a second): called when a detector is built, so the first fit and the
    first attributions, hours of event time later, do not import inside an evaluation."""
    todo = [m for m in modules if m not in _loading and m not in sys.modules]
    if todo:
        _loading.update(todo)
        threading.Thread(target=lambda: [importlib.import_module(m) for m in todo], name="foresight-imports",
                         daemon=True).start()


def average_path_length(n: np.ndarray) -> np.ndarray:
    """Mean path length of an unsuccessful search in a binary tree of n points
    (scikit-learn's `_average_path_length`, the same formula)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    two = n == 2
    more = n > 2
    out[two] = 1.0
    out[more] = 2.0 * (np.log(n[more] - 1.0) + np.euler_gamma) - 2.0 * (n[more] - 1.0) / n[more]
    return out


def _depths(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Edges from the root to each node; scikit-learn numbers a parent before its children."""
    parent = np.zeros(left.size, dtype=np.intp)
    inner = np.flatnonzero(left >= 0)
    parent[left[inner]] = inner
    parent[right[inner]] = inner
    depth = np.zeros(left.size, dtype=np.int64)
    while True:  # each pass settles one more level; a tree is a few levels deep
        new = depth[parent] + 1
        new[0] = 0
        if np.array_equal(new, depth):
            return depth
        depth = new


class FlatForest:
    """The trees of one fitted `sklearn.ensemble.IsolationForest`, held as numpy arrays."""

    def __init__(self, model):
        self.n_trees = len(model.estimators_)
        self.denominator = self.n_trees * average_path_length([model.max_samples_])
        self.trees = []  # per tree: what the SHAP explainer reads
        left_all, right_all, default_all, feature_all, threshold_all, term_all = [], [], [], [], [], []
        offset, self._max_depth = 0, 0
        for estimator, columns in zip(model.estimators_, model.estimators_features_):
            tree = estimator.tree_
            left, right = tree.children_left.astype(np.intp), tree.children_right.astype(np.intp)
            default = left
            if hasattr(tree, "missing_go_to_left"):
                default = np.where(tree.missing_go_to_left, left, right)
            depth = _depths(left, right)
            self._max_depth = max(self._max_depth, int(depth.max()))
            samples = tree.n_node_samples
            columns = np.asarray(columns)
            leaf = left < 0
            # SHAP reads leaf values: the depth plus the expected depth of the points left unsplit.
            values = np.where(leaf, depth + average_path_length(samples), 0.0)
            self.trees.append({
                "children_left": left.astype(np.int32), "children_right": right.astype(np.int32),
                "children_default": default.astype(np.int32),
                "features": np.where(tree.feature >= 0, columns[np.maximum(tree.feature, 0)], tree.feature),
                "thresholds": tree.threshold.astype(np.float64),
                "values": (values * (1.0 / self.n_trees))[:, None],  # shap scales as 1/n
                "node_sample_weight": tree.weighted_n_node_samples.astype(np.float64),
            })
            # scikit-learn indexes the columns only when a tree was fitted on a subset of them.
            own = columns if columns.size != model.n_features_in_ else np.arange(model.n_features_in_)
            feature_all.append(np.where(leaf, 0, own[np.maximum(tree.feature, 0)]))
            # Its per-tree depth: nodes on the path (depth + 1) + average path length - 1.
            term_all.append((depth + 1.0) + average_path_length(samples) - 1.0)
            left_all.append(np.where(leaf, np.arange(left.size), left) + offset)
            right_all.append(np.where(leaf, np.arange(left.size), right) + offset)
            default_all.append(np.where(leaf, np.arange(left.size), default) + offset)
            threshold_all.append(tree.threshold)
            offset += left.size
        self._left, self._right = np.concatenate(left_all), np.concatenate(right_all)
        self._default, self._feature = np.concatenate(default_all), np.concatenate(feature_all)
        self._threshold, self._term = np.concatenate(threshold_all), np.concatenate(term_all)
        self._roots = np.cumsum([0] + [t["children_left"].size for t in self.trees[:-1]])

    def score(self, vector: np.ndarray) -> float:
        """The forest's anomaly score of one vector: -score_samples, as scikit-learn gives it."""
        x = np.asarray(vector, dtype=np.float32).reshape(-1).astype(np.float64)  # it compares float32 inputs
        node = self._roots.copy()
        for _ in range(self._max_depth):  # leaves point at themselves, so extra steps stay put
            value = x[self._feature[node]]
            node = np.where(np.isnan(value), self._default[node],
                            np.where(value <= self._threshold[node], self._left[node], self._right[node]))
        depth = np.cumsum(self._term[node])[-1:]  # tree by tree, in order, as scikit-learn adds them
        ratio = np.divide(depth, self.denominator, out=np.ones_like(depth), where=self.denominator != 0)
        return float((2 ** -ratio)[0])

    def explainer(self):
        """A shap.TreeExplainer of the forest, built from the arrays (milliseconds, not a second)."""
        import shap  # waits for load_in_background's import if it is still under way

        return shap.TreeExplainer({"trees": self.trees, "tree_output": "raw_value", "base_offset": 0.0})
