"""What analysts measured: a keyword classifier with recall and false positives, and evasion.

True posts are what the model's agents do. Observed pro posts are the pro posts the classifier
finds (recall reduced by the evading account's evasion level) plus anti posts it mistakes for
pro; observed anti posts likewise. Expected values are used (the post counts themselves are
already random), so observed figures add no noise of their own.
"""

from __future__ import annotations

import numpy as np

from sim.config.schema import Observation


def observed_pro(posts: np.ndarray, evasion: np.ndarray, anti_true: float, o: Observation) -> float:
    """Observed pro posts from per-account posts and evasion, plus false positives."""
    visible = float((posts * (1.0 - o.evasion_recall_loss * evasion)).sum())
    return observed_pro_from_visible(visible, anti_true, o)


def observed_pro_from_visible(visible: float, anti_true: float, o: Observation) -> float:
    """Observed pro posts from ``visible`` = the sum over posts of ``1 - evasion_recall_loss *
    evasion`` of their account (what full recall would find), plus false positives."""
    return o.pro_recall * visible + o.pro_false_positive * anti_true


def observed_anti(anti_true: float, pro_true: float, o: Observation) -> float:
    """Observed anti posts, plus pro posts mistaken for anti."""
    return o.anti_recall * anti_true + o.anti_false_positive * pro_true
