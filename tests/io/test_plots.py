"""``sim.io.plots``: what a run's figures say and where their labels go.

Rendered with matplotlib's Agg renderer: the label boxes are the texts' extents as drawn.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.transforms import Bbox
from test_results import fake_simulate, tiny_scenario

from sim.components.policy import SetEvent
from sim.io import plots
from sim.scenario import Scenario

START = dt.date(2014, 1, 1)


def crowded(days: list[int]) -> Scenario:
    """The tiny scenario with events on the given days after the start, long labels."""
    timeline = [
        SetEvent(
            date=START + dt.timedelta(days=d),
            label=f"event number {i} with a long label",
            values={"population.share_prob": 0.01 + i / 1000},
        )
        for i, d in enumerate(days)
    ]
    return tiny_scenario(timeline=timeline)


def figure_labels(scenario: Scenario, place: bool = True) -> list[Bbox]:
    spec = next(f for f in plots.figure_specs(scenario) if f.file == "pro_posts")
    dailies = [fake_simulate(scenario.model_copy(deep=True), s) for s in (1, 2)]
    if not place:
        saved = plots.place_labels
        plots.place_labels = lambda fig, texts, gap=2.0: None  # type: ignore[assignment]
    try:
        fig, texts = plots.draw_figure(spec, dailies, scenario, [], "footer")
    finally:
        if not place:
            plots.place_labels = saved
    assert len(texts) == len(plots.events_in_view(scenario))
    return plots.label_boxes(fig, texts)


def overlapping(boxes: list[Bbox]) -> list[tuple[int, int]]:
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
            if a.overlaps(b)]  # fmt: skip


def test_labels_of_close_events_overlap_unless_placed() -> None:
    """Caliphate declared (2014-06-29) and a ramp two days later: apart once placed."""
    scenario = crowded([179, 181, 183, 300])
    assert overlapping(figure_labels(scenario, place=False))  # the test can fail
    boxes = figure_labels(scenario)
    assert overlapping(boxes) == []
    # a lone label stays where it was (left of its line)
    assert boxes[3] == pytest.approx(figure_labels(scenario, place=False)[3])


@settings(max_examples=8, deadline=None)
@given(st.lists(st.integers(0, 900), min_size=2, max_size=9))
def test_no_two_event_labels_overlap(days: list[int]) -> None:
    assert overlapping(figure_labels(crowded(days))) == []


def test_legends_say_the_band_is_over_replicates() -> None:
    scenario = tiny_scenario()
    spec = next(f for f in plots.figure_specs(scenario) if f.file == "pro_posts")
    dailies = [fake_simulate(scenario.model_copy(deep=True), s) for s in (1, 2, 3)]
    fig, _ = plots.draw_figure(spec, dailies, scenario, [], "footer")
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert legend.get_title().get_text() == "line: median; band: 5-95% over 3 replicates"
    assert plots.band_note(1) == "line: median; band: 5-95% over 1 replicate"
