"""Exact path-dependent TreeSHAP for XGBoost, LightGBM and scikit-learn tree models, compiled with numba.

The trees of a model become one `Forest` of flat node arrays. A leaf's share of the SHAP values depends on the row
only through which of its path's features the row agrees with (a bit pattern), so each tree's shares are computed
once per (leaf, pattern) the rows meet and then looked up: O(nodes + leaves x depth) per row and tree, where the
libraries' own TreeSHAP costs O(leaves x depth^2). Two sibling leaves under a split on a feature new to their path
share one table. Everything is in float64, so the attributions plus the base value
equal the sum of the model's leaf values to rounding (XGBoost itself sums in float32).

For a leaf with value v and the k distinct features f_j on its path, let r_j be the product of the cover fractions
of the path's splits on f_j and z_j = 1 if the row takes every one of them. Feature f_i's share is

    v (z_i - r_i) sum_m w(m, k) [t^m] prod_{j != i} (r_j + z_j t),    w(m, k) = m! (k - m - 1)! / k!
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numba
import numpy as np
from scipy import sparse

NAN_DEFAULT, NAN_AS_ZERO, ZERO_DEFAULT = 0, 1, 2  # how a split treats a missing value (LightGBM's three kinds)
TABLE_DEPTH = 12  # leaves that split on more distinct features compute each row's shares without a table
MAX_PATH_FEATURES = 62  # a row's pattern is an int64 bit mask: deeper trees are not explained exactly


@dataclass
class Forest:
    """Trees as flat node arrays; inside each tree a node comes before its children and the root first."""

    feature: np.ndarray  # int64 column of the split, -1 at a leaf
    threshold: np.ndarray
    left: np.ndarray  # int64 index into these arrays, -1 at a leaf
    right: np.ndarray
    default_left: np.ndarray  # where a missing value goes
    missing: np.ndarray  # NAN_DEFAULT, NAN_AS_ZERO or ZERO_DEFAULT
    cover: np.ndarray  # training weight through the node: its share of its parent's is the path's fraction
    value: np.ndarray  # leaf values, already weighted by the model's share of what is explained
    starts: np.ndarray  # each tree's first node, then the end
    offset: float  # added to the trees' sum: XGBoost's base score
    strict: bool  # XGBoost sends x < threshold left; LightGBM and scikit-learn x <= threshold
    float32: bool  # the library compares the features in float32
    sparse_missing: bool  # an unstored entry of a sparse matrix is missing (XGBoost), not zero
    probability: bool = False  # a classifier's leaves hold the positive class's probability (scikit-learn), not
    # log-odds (boosting)


def shap_values(forest: Forest, X, origin: np.ndarray, n_out: int) -> tuple[np.ndarray, float]:
    """(rows x ``n_out`` attributions, base value): column c of X adds to output column ``origin[c]``."""
    values, expected = _explain(*_kernel_arguments(forest, X, origin, n_out))
    return values, float(expected.sum()) + forest.offset


def warm_up() -> None:
    """Compile the kernel for the one signature `shap_values` calls it with, or find it in numba's cache (saved
    beside this module). Compiling takes seconds, once per machine; a job does it in a child while it tunes."""
    stump = _joined([dict(feature=np.array([0, -1, -1]), threshold=np.zeros(3), left=np.array([1, -1, -1]),
                          right=np.array([2, -1, -1]), default_left=np.zeros(3, bool), missing=np.zeros(3),
                          cover=np.array([2.0, 1.0, 1.0]), value=np.array([0.0, -1.0, 1.0]))],
                    0.0, strict=False, float32=False, sparse_missing=False)
    arguments = _kernel_arguments(stump, np.zeros((1, 1)), np.zeros(1, dtype=np.int64), 1)
    _explain.compile(tuple(numba.typeof(argument) for argument in arguments))


def warm_up_in_background():
    """A forked child running `warm_up`, to be joined before the first explanation; None where there is no fork.
    It only compiles, never runs the kernel's threads, so it is safe to fork whatever this process has run."""
    from ..forks import FORK

    if FORK is None:
        return None
    child = FORK.Process(target=warm_up, daemon=True)
    child.start()
    return child


def _kernel_arguments(forest: Forest, X, origin: np.ndarray, n_out: int) -> tuple:
    used = np.unique(forest.feature[forest.feature >= 0])
    dense = _features(forest, X, used)
    compact = np.full(max(len(origin), 1), -1, dtype=np.int64)
    compact[used] = np.arange(len(used))
    feature = np.where(forest.feature >= 0, compact[np.maximum(forest.feature, 0)], -1)
    chunks = max(1, min(numba.get_num_threads(), len(forest.starts) - 1))
    bounds = np.linspace(0, len(forest.starts) - 1, chunks + 1).astype(np.int64)
    return (dense, np.asarray(origin, dtype=np.int64)[used], int(n_out), feature, forest.threshold, forest.left,
            forest.right, forest.default_left, forest.missing, forest.cover, forest.value, forest.starts, bounds,
            bool(forest.strict))


def predict(forest: Forest, X) -> np.ndarray:
    """The forest's raw output in float64, what `shap_values` adds up to."""
    dense = _features(forest, X, np.arange(forest.feature.max(initial=-1) + 1))
    return _predict(dense, forest.feature, forest.threshold, forest.left, forest.right,
                    forest.default_left, forest.missing, forest.value,
                    forest.starts, forest.strict) + forest.offset


def _features(forest: Forest, X, columns: np.ndarray) -> np.ndarray:
    """``columns`` of X as the forest's library reads them: dense float64 rows, rounded through float32 where the
    library compares in float32, unstored sparse entries missing where it takes them so."""
    if not sparse.issparse(X):
        dense = np.ascontiguousarray(np.asarray(X, dtype=np.float64)[:, columns])
    else:
        part = sparse.csc_matrix(X[:, columns], dtype=np.float64)
        dense = part.toarray(order="C")  # one memory layout: one compiled signature
        if forest.sparse_missing:  # stored entries keep their value, explicit zeros included; the rest are missing
            stored = sparse.csc_matrix((np.ones_like(part.data), part.indices, part.indptr), shape=part.shape)
            dense[stored.toarray() == 0] = np.nan
    return dense.astype(np.float32).astype(np.float64) if forest.float32 else dense


# --- the libraries' trees -----------------------------------------------------------------------------------------


def forest_of(model, weight: float = 1.0) -> Forest | None:
    """The `Forest` of a fitted XGBoost, LightGBM or scikit-learn tree model (binary classifiers: the positive
    class; boosting on its log-odds, scikit-learn on its probability), or None for any other model."""
    library = type(model).__module__.split(".")[0]
    if len(getattr(model, "classes_", ())) > 2:
        return None
    if library == "xgboost":
        return _xgboost(model, weight)
    if library == "lightgbm":
        return _lightgbm(model, weight)
    if library == "sklearn":
        return _sklearn(model, weight)
    return None


def _xgboost(model, weight: float) -> Forest | None:
    booster = model.get_booster()
    learner = json.loads(booster.save_raw("json"))["learner"]
    objective = learner["objective"]["name"]
    if learner["gradient_booster"]["name"] != "gbtree" or objective not in _XGBOOST_LINKS:
        return None
    trees = learner["gradient_booster"]["model"]["trees"]
    best = getattr(model, "best_iteration", None)
    if best is not None:
        trees = trees[: (best + 1) * (len(trees) // booster.num_boosted_rounds())]
    if any(t["categories_nodes"] for t in trees):
        return None
    with np.errstate(divide="ignore"):
        offset = _XGBOOST_LINKS[objective](float(learner["learner_model_param"]["base_score"].strip("[]")))
    if not np.isfinite(offset):
        return None  # trained on one class only: a base probability of 0 or 1
    parts = []
    for tree in trees:
        left = np.asarray(tree["left_children"])
        leaf = left < 0
        condition = np.asarray(tree["split_conditions"], dtype=np.float32).astype(np.float64)  # a leaf's: its value
        parts.append(dict(
            feature=np.where(leaf, -1, tree["split_indices"]), threshold=condition,
            left=left, right=np.asarray(tree["right_children"]), default_left=np.asarray(tree["default_left"]),
            missing=np.full(len(left), NAN_DEFAULT), cover=np.asarray(tree["sum_hessian"]),
            value=np.where(leaf, condition, 0.0) * weight,
        ))
    return _joined(parts, weight * offset, strict=True, float32=True, sparse_missing=True)


_XGBOOST_LINKS = {  # the base score, stored on the output's scale, on the scale the trees add up on
    "reg:squarederror": float, "reg:absoluteerror": float, "reg:pseudohubererror": float,
    "binary:logistic": lambda p: float(np.log(p / (1 - p))), "binary:logitraw": float,
}


def _lightgbm(model, weight: float) -> Forest | None:
    best = getattr(model, "best_iteration_", None) or None
    text = model.booster_.model_to_string(num_iteration=best)
    if "is_linear=1" in text:
        return None
    parts = []
    for block in re.split(r"\nTree=\d+\n", text.split("end of trees")[0])[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)

        def numbers(key, dtype=np.float64, fields=fields):
            return np.array(fields[key].split(), dtype=dtype)

        leaf_value = numbers("leaf_value") * weight
        leaves = len(leaf_value)
        if leaves == 1:
            parts.append(dict(feature=np.array([-1]), threshold=np.zeros(1), left=np.array([-1]),
                              right=np.array([-1]), default_left=np.zeros(1, bool), missing=np.zeros(1, np.int64),
                              cover=np.ones(1), value=leaf_value))
            continue
        decision = numbers("decision_type", np.int64)
        if np.any(decision & 1):
            return None  # a categorical split
        inner = len(decision)
        left, right = numbers("left_child", np.int64), numbers("right_child", np.int64)
        kind = (decision >> 2) & 3  # LightGBM's missing type: 0 none (NaN is 0), 1 zero, 2 NaN
        none = np.full(leaves, -1)
        parts.append(dict(
            feature=np.concatenate([numbers("split_feature", np.int64), none]),
            threshold=np.concatenate([numbers("threshold"), np.zeros(leaves)]),
            left=np.concatenate([np.where(left >= 0, left, inner + ~left), none]),  # leaf i is child ~i
            right=np.concatenate([np.where(right >= 0, right, inner + ~right), none]),
            default_left=np.concatenate([(decision & 2) > 0, np.zeros(leaves, bool)]),
            missing=np.concatenate([np.choose(kind, [NAN_AS_ZERO, ZERO_DEFAULT, NAN_DEFAULT, NAN_DEFAULT]),
                                    np.zeros(leaves, np.int64)]),
            cover=np.concatenate([numbers("internal_count"), numbers("leaf_count")]),
            value=np.concatenate([np.zeros(inner), leaf_value]),
        ))
    return _joined(parts, 0.0, strict=False, float32=False, sparse_missing=False)


def _sklearn(model, weight: float) -> Forest | None:
    trees = list(getattr(model, "estimators_", [model]))
    if not all(hasattr(t, "tree_") for t in trees) or getattr(model, "n_outputs_", 1) != 1:
        return None
    parts = []
    for estimator in trees:
        tree = estimator.tree_
        value = tree.value[:, 0, :]
        leaf_value = value[:, 0] if value.shape[1] == 1 else value[:, 1] / value.sum(axis=1)
        leaf = tree.children_left < 0
        go_left = getattr(tree, "missing_go_to_left", np.zeros(tree.node_count, dtype=np.uint8))
        parts.append(dict(
            feature=np.where(leaf, -1, tree.feature), threshold=tree.threshold, left=tree.children_left,
            right=tree.children_right, default_left=np.asarray(go_left), missing=np.full(tree.node_count, NAN_DEFAULT),
            cover=tree.weighted_n_node_samples,
            value=np.where(leaf, leaf_value, 0.0) * weight / len(trees),
        ))
    return _joined(parts, 0.0, strict=False, float32=True, sparse_missing=False,
                   probability=hasattr(model, "classes_"))


_DTYPES = dict(feature=np.int64, threshold=np.float64, left=np.int64, right=np.int64, default_left=np.bool_,
               missing=np.int64, cover=np.float64, value=np.float64)  # one compiled signature for every library


def _joined(parts: list[dict], offset: float, **rules) -> Forest | None:
    """One `Forest` of the trees' node arrays, or None where a tree is deeper than a row's bit pattern can hold."""
    sizes = np.array([len(p["feature"]) for p in parts], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    joined = {key: np.concatenate([p[key] for p in parts]).astype(_DTYPES[key]) for key in parts[0]}
    shift = np.repeat(starts[:-1], sizes)
    for key in ("left", "right"):
        joined[key] = np.where(joined[key] >= 0, joined[key] + shift, -1).astype(np.int64)
    inner = joined["left"] >= 0
    nodes = np.arange(len(shift))
    if np.any(joined["left"][inner] <= nodes[inner]) or np.any(joined["right"][inner] <= nodes[inner]):
        raise ValueError("a tree's children come before their parent")
    level, depth = starts[:-1], -1
    while level.size:  # root to leaves, one level at a time
        level = np.concatenate([joined["left"][level], joined["right"][level]])
        level, depth = level[level >= 0], depth + 1
    if depth > MAX_PATH_FEATURES:
        return None
    return Forest(**joined, starts=starts, offset=offset, **rules)


# --- the compiled part --------------------------------------------------------------------------------------------


@numba.njit(cache=True)
def _goes_left(x, threshold, default_left, missing, strict):
    if np.isnan(x):
        if missing == NAN_DEFAULT:
            return default_left
        x = 0.0
    if missing == ZERO_DEFAULT and abs(x) <= 1e-35:
        return default_left
    return x < threshold if strict else x <= threshold


@numba.njit(cache=True)
def _shares(k, pattern, r, v, w, poly, dest):
    """The k path features' shares of a leaf worth v for a row agreeing with the features in ``pattern``."""
    poly[0] = 1.0
    for d in range(1, k + 1):
        poly[d] = 0.0
    for i in range(k):  # poly = prod_i (r_i + z_i t)
        if (pattern >> i) & 1:
            for d in range(i + 1, 0, -1):
                poly[d] = poly[d] * r[i] + poly[d - 1]
        else:
            for d in range(i + 1, 0, -1):
                poly[d] = poly[d] * r[i]
        poly[0] *= r[i]
    absent = 0.0  # z_i = 0: the factor r_i cancels, the share is -v sum_m w_m poly_m
    for m in range(k):
        absent += w[m] * poly[m]
    for j in range(k):
        if (pattern >> j) & 1:  # divide poly by (t + r_j), from the top
            p = poly[k]
            total = w[k - 1] * p
            for m in range(k - 1, 0, -1):
                p = poly[m] - r[j] * p
                total += w[m - 1] * p
            dest[j] = v * (1.0 - r[j]) * total
        else:
            dest[j] = -v * absent


@numba.njit(cache=True)
def _tree(X, out, origin, feature, threshold, left, right, default_left, missing, cover, value, start, stop, strict,
          weights):
    """Adds one tree's attributions to ``out`` and returns its expected value."""
    n = stop - start
    parent = np.full(n, -1, np.int64)
    depth = np.zeros(n, np.int64)
    for i in range(n):
        if feature[start + i] >= 0:
            for c in (left[start + i] - start, right[start + i] - start):
                parent[c] = i
                depth[c] = depth[i] + 1
    leaves = np.flatnonzero(feature[start:stop] < 0)
    deepest = max(1, depth.max())
    slot = np.zeros(n, np.int64)
    fresh = np.zeros(n, np.bool_)  # the node splits on a feature no node above it splits on
    leaf_k = np.zeros(len(leaves), np.int64)
    leaf_feature = np.zeros((len(leaves), deepest), np.int64)
    leaf_r = np.ones((len(leaves), deepest))
    path = np.zeros(deepest, np.int64)
    expected = 0.0
    for li in range(len(leaves)):
        node, steps = leaves[li], 0
        while parent[node] >= 0:
            path[steps] = node
            steps += 1
            node = parent[node]
        k = 0
        for s in range(steps - 1, -1, -1):  # root first
            child = path[s]
            above = parent[child]
            f = feature[start + above]
            j = 0
            while j < k and leaf_feature[li, j] != f:
                j += 1
            fresh[above] = j == k
            if j == k:
                leaf_feature[li, k] = f
                k += 1
            slot[above] = j
            parent_cover = cover[start + above]
            leaf_r[li, j] *= cover[start + child] / parent_cover if parent_cover > 0 else 0.0
        leaf_k[li] = k
        share = value[start + leaves[li]]
        for j in range(k):
            share *= leaf_r[li, j]
        expected += share
    table_at = np.zeros(len(leaves), np.int64)
    done_at = np.zeros(len(leaves), np.int64)
    table_size, done_size = 0, 0
    for li in range(len(leaves)):
        if leaf_k[li] <= TABLE_DEPTH:
            table_at[li], done_at[li] = table_size, done_size
            table_size += (1 << leaf_k[li]) * leaf_k[li]
            done_size += 1 << leaf_k[li]
    table = np.empty(table_size)
    done = np.zeros(done_size, np.bool_)
    leaf_out = np.zeros((len(leaves), deepest), np.int64)  # the output column of each path feature
    for li in range(len(leaves)):
        for j in range(leaf_k[li]):
            leaf_out[li, j] = origin[leaf_feature[li, j]]
    # Two leaf children of a split on a feature new to their path share every table index but the split's own bit,
    # which one of them always has: the left one's table holds both shares, and the right one is skipped.
    leaf_of = np.full(n, -1, np.int64)
    leaf_of[leaves] = np.arange(len(leaves))
    partner = np.full(len(leaves), -1, np.int64)
    for i in range(n):
        if feature[start + i] >= 0:
            a, b = leaf_of[left[start + i] - start], leaf_of[right[start + i] - start]
            if a >= 0 and b >= 0 and fresh[i] and leaf_k[a] <= TABLE_DEPTH:
                partner[a], partner[b] = b, -2  # -2: counted in its partner's table
    poly = np.empty(deepest + 1)
    scratch = np.empty(deepest)
    mask = np.zeros(n, np.int64)
    for row in range(X.shape[0]):
        for i in range(n):  # parents first: a child's mask is its parent's plus the split the row disagrees with
            f = feature[start + i]
            if f < 0:
                continue
            goes = np.int64(_goes_left(X[row, f], threshold[start + i], default_left[start + i], missing[start + i],
                                       strict))
            bit = np.int64(1) << slot[i]  # branch-free: which way a row goes is a coin flip to the processor
            mask[left[start + i] - start] = mask[i] | (bit * (1 - goes))
            mask[right[start + i] - start] = mask[i] | (bit * goes)
        for li in range(len(leaves)):
            k = leaf_k[li]
            if k == 0 or partner[li] == -2:
                continue
            pattern = ((np.int64(1) << k) - 1) & ~mask[leaves[li]]
            v = value[start + leaves[li]]
            if k <= TABLE_DEPTH:
                at = table_at[li] + pattern * k
                if not done[done_at[li] + pattern]:
                    _shares(k, pattern, leaf_r[li], v, weights[k], poly, table[at:at + k])
                    b = partner[li]
                    if b >= 0:  # the right sibling agrees exactly where this leaf does not, on the last feature
                        _shares(k, pattern ^ (np.int64(1) << (k - 1)), leaf_r[b], value[start + leaves[b]],
                                weights[k], poly, scratch)
                        for j in range(k):
                            table[at + j] += scratch[j]
                    done[done_at[li] + pattern] = True
                for j in range(k):
                    out[row, leaf_out[li, j]] += table[at + j]
            else:
                _shares(k, pattern, leaf_r[li], v, weights[k], poly, scratch)
                for j in range(k):
                    out[row, leaf_out[li, j]] += scratch[j]
    return expected


@numba.njit(cache=True, parallel=True)
def _explain(X, origin, n_out, feature, threshold, left, right, default_left, missing, cover, value, starts, bounds,
             strict):
    weights = np.zeros((MAX_PATH_FEATURES + 1, MAX_PATH_FEATURES))  # weights[k, m] = m! (k - m - 1)! / k!
    for k in range(1, MAX_PATH_FEATURES + 1):
        weights[k, 0] = 1.0 / k
        for m in range(1, k):
            weights[k, m] = weights[k, m - 1] * m / (k - m)
    chunks = len(bounds) - 1
    outs = np.zeros((chunks, X.shape[0], n_out))
    expected = np.zeros(len(starts) - 1)
    for c in numba.prange(chunks):
        for t in range(bounds[c], bounds[c + 1]):
            expected[t] = _tree(X, outs[c], origin, feature, threshold, left, right, default_left, missing, cover,
                                value, starts[t], starts[t + 1], strict, weights)
    return outs.sum(axis=0), expected


@numba.njit(cache=True, parallel=True)
def _predict(X, feature, threshold, left, right, default_left, missing, value, starts, strict):
    out = np.zeros(X.shape[0])
    for row in numba.prange(X.shape[0]):
        total = 0.0
        for t in range(len(starts) - 1):
            node = starts[t]
            while feature[node] >= 0:
                goes = _goes_left(X[row, feature[node]], threshold[node], default_left[node], missing[node], strict)
                node = left[node] if goes else right[node]
            total += value[node]
        out[row] = total
    return out
