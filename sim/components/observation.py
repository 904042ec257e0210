"""What analysts measured: a keyword classifier with recall and false positives, and evasion.

True posts are what the model's agents do. Observed pro posts are the pro posts the classifier
finds (recall reduced by the evading account's evasion level) plus anti posts it mistakes for
pro; observed anti posts likewise. Expected values are used (the post counts themselves are
already random), so observed figures add no noise of their own.

Its section is ``observation``; at ``record`` it turns the day's true figures (posting's and
exposure's pro posts and shares, counter-messaging's anti posts) into observed ones.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from sim.config.schema import P, ScenarioBase, Strict
from sim.core.component import Component, FigureSpec, Line, MetricSpec, Panel, drop_set_values

NAN = float("nan")


class Observation(Strict):
    pro_recall: float = P(0.22, "Recall of the keyword classifier on pro posts", "", ge=0, le=1)
    anti_recall: float = P(0.5, "Recall on anti-IS posts", "", ge=0, le=1)
    pro_false_positive: float = P(
        0.01, "Share of anti posts the classifier counts as pro", "", ge=0, le=1
    )
    anti_false_positive: float = P(
        0.02, "Share of pro posts the classifier counts as anti", "", ge=0, le=1
    )
    evasion_recall_loss: float = P(
        0.6,
        "Share of recall (and of hashtag discovery) lost by a fully evasive account",
        "",
        ge=0,
        le=1,
    )


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


def observation_of(scenario: ScenarioBase) -> Observation:
    """The scenario's ``observation`` section (read by posting and exposure too)."""
    section: Observation = getattr(scenario, "observation")  # noqa: B009
    return section


class ObservationComponent(Component):
    """Observed figures: what a keyword classifier finds of the day's posts."""

    name = "observation"
    family = "measurement"
    section = "observation"
    section_type = Observation
    metrics: ClassVar = (
        MetricSpec(
            "pro_posts_observed",
            "open",
            "posts/day",
            "Pro posts a keyword classifier finds (recall, evasion, false positives)",
        ),
        MetricSpec("anti_posts_observed", "open", "posts/day", "Anti posts the classifier finds"),
        MetricSpec(
            "anti_pro_ratio",
            "open",
            "ratio",
            "Observed anti : observed pro posts; NaN if nothing is observed as pro",
        ),
    )

    figures: ClassVar = (
        FigureSpec(
            "pro_posts",
            "Pro-IS posts per day (open platforms)",
            (
                Panel(
                    "Observed (keyword classifier) and true pro posts",
                    (Line("pro_posts_observed", "observed"), Line("pro_posts_true", "true")),
                    targets=("pro_posts_observed", "pro_posts_true"),
                ),
            ),
        ),
        FigureSpec(
            "anti_pro_ratio",
            "Anti-IS : pro-IS content, observed (30-day)",
            (
                Panel(
                    "Observed anti : pro posts (30-day sums)",
                    (
                        Line(
                            "anti_posts_observed", stat="ratio", days=30, over="pro_posts_observed"
                        ),
                    ),
                    targets=("anti_pro_ratio",),
                    unit="ratio",
                    ratio=True,
                ),
            ),
        ),
    )

    @classmethod
    def switch_off(cls, data: dict[str, Any]) -> None:
        """The measurement's own artefacts off: evasion hides nothing from the classifier (nor,
        as it also does, from hashtag discovery) and neither kind of post is mistaken for the
        other; recall stays (a constant factor, it moves no change over time), as do its
        ``set`` values; those of the switched-off keys go."""
        section = data.setdefault("observation", {})
        off = ("evasion_recall_loss", "pro_false_positive", "anti_false_positive")
        for key in off:
            section[key] = 0.0
        drop_set_values(
            data, lambda k: k.split(".")[0] == "observation" and k.split(".")[-1] in off
        )

    def refresh(self) -> None:
        self._obs = observation_of(self.model.sc)

    def init(self) -> None:
        super().init()
        self._cols = [self.columns(m.name) for m in self.metrics]

    def record(self, d: int, row: np.ndarray) -> None:
        m = self.model
        s, obs, today = m.scale, self._obs, m.today
        seen_shares = today.tally.shares_observed_weight.tolist()
        c_pro, c_anti, c_ratio = self._cols
        for i, sums in enumerate(today.sums):
            pro_true, anti_true = today.pro_true[i], today.anti_true[i]
            visible = sums[5] + seen_shares[i]
            obs_pro = float(observed_pro_from_visible(visible, 0.0, obs)) * s
            obs_pro += obs.pro_false_positive * anti_true
            obs_anti = float(observed_anti(anti_true, pro_true, obs))
            row[c_pro[i]] = obs_pro
            row[c_anti[i]] = obs_anti
            row[c_ratio[i]] = obs_anti / obs_pro if obs_pro > 0 else NAN
