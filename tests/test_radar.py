"""The radar chart's geometry, shared by the web pages and the printed charter."""

from __future__ import annotations

import math

import pytest

from assess.charter.render import OVERLAY_STYLES, RESTS_ON, Outline, printed_radar
from assess.factors import FACTOR_KEYS, FACTORS
from assess.radar import PRINT, SCREEN, Frame, radar, wrap_label

FRAMES = pytest.mark.parametrize("frame", [SCREEN, PRINT], ids=["screen", "print"])
ALL_THREE = dict.fromkeys(FACTOR_KEYS, 3)


def points(outline: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in outline.split())]


@FRAMES
def test_the_first_axis_points_straight_up_and_the_outer_ring_is_level_5(frame: Frame) -> None:
    assert frame.point(0, 5) == (frame.centre, frame.centre - frame.radius)
    assert frame.point(0, 0) == (frame.centre, frame.centre)
    # Clockwise, a quarter of the way round: straight to the right.
    assert frame.point(len(FACTORS) // 4, 5) == (frame.centre + frame.radius, frame.centre)
    assert frame.point(0, 2) == (frame.centre, frame.centre - frame.radius * 2 / 5)


@FRAMES
def test_rings_and_axes_meet_at_each_level(frame: Frame) -> None:
    chart = radar([], frame=frame)
    assert [ring.level for ring in chart.rings] == [1, 2, 3, 4, 5]
    assert points(chart.rings[-1].points) == [(axis.x, axis.y) for axis in chart.axes]
    assert points(chart.rings[1].points) == [frame.point(i, 2) for i in range(len(FACTORS))]
    for ring in chart.rings:
        # Each number sits halfway along its ring's edge between the first two axes.
        (x0, y0), (x1, y1) = points(ring.points)[:2]
        assert ring.label_x == pytest.approx((x0 + x1) / 2, abs=0.1)
        assert ring.label_y == pytest.approx((y0 + y1) / 2, abs=0.1)


@FRAMES
def test_the_names_stand_beyond_the_outer_ring_and_away_from_the_centre(frame: Frame) -> None:
    chart = radar([], frame=frame)
    anchors = [axis.anchor for axis in chart.axes]
    assert anchors == ["middle", "start", "start", "start", "middle", "end", "end", "end"]
    for axis in chart.axes:
        distance = math.dist((axis.label_x, axis.label_y), (frame.centre, frame.centre))
        assert distance == pytest.approx(frame.radius * frame.label_level / 5, abs=0.1)
        # A name of several lines is raised by half a line for each line after the first,
        # so that the lines together centre on the name's point.
        raised = frame.line_height / 2 * (len(axis.lines) - 1)
        assert axis.first_line_y == pytest.approx(axis.label_y - raised)


def test_the_printed_names_may_take_three_lines_the_web_ones_two() -> None:
    assert FACTORS[7].label == "Pre-production planning complexity"
    assert radar([], frame=SCREEN).axes[7].lines == ("Pre-production", "planning complexity")
    assert radar([], frame=PRINT).axes[7].lines == ("Pre-production", "planning", "complexity")


def test_a_name_wraps_into_the_fewest_and_most_even_lines() -> None:
    assert wrap_label("Risk tolerance", 16, 2) == ("Risk tolerance",)
    assert wrap_label("Timeline pressure", 16, 2) == ("Timeline", "pressure")
    assert wrap_label("Readiness for rapid iteration", 16, 3) == (
        "Readiness for",
        "rapid iteration",
    )
    # Too long for two lines within the width: the more even of the two-line breaks.
    assert wrap_label("Depth of creative collaboration", 16, 2) == (
        "Depth of creative",
        "collaboration",
    )
    assert wrap_label("Depth of creative collaboration", 16, 3) == (
        "Depth of",
        "creative",
        "collaboration",
    )
    # A word longer than the width keeps a line to itself rather than forcing a fourth.
    assert wrap_label("Depth of creative collaboration", 12, 4) == (
        "Depth of",
        "creative",
        "collaboration",
    )
    assert wrap_label("Interdisciplinarity", 8, 3) == ("Interdisciplinarity",)


def test_each_answer_is_a_dot_and_the_shape_joins_them_in_factor_order() -> None:
    answers = dict(zip(FACTOR_KEYS, (5, 4, 3, 2, 1, 2, 3, 4), strict=True))
    [series] = radar([(("Ann Lee", ""), "series-a", answers)]).series
    assert (series.name, series.style) == ("Ann Lee", "series-a")
    expected = [SCREEN.point(i, answers[key]) for i, key in enumerate(FACTOR_KEYS)]
    assert points(series.points) == expected
    assert [(x, y) for x, y, _ in series.dots] == expected
    assert [level for _, _, level in series.dots] == list(answers.values())


def test_a_missing_answer_leaves_dots_but_no_shape() -> None:
    started = {"innovation": 4, "risk_tolerance": 2}
    full, partial = radar(
        [(("Ann Lee", ""), "series-a", ALL_THREE), (("Bo Chen", ""), "series-b", started)]
    ).series
    assert full.points
    # A shape would pass through the centre where Bo has not answered, reading as level 0.
    assert partial.points == ""
    assert [(x, y, v) for x, y, v in partial.dots] == [
        (*SCREEN.point(0, 4), 4),
        (*SCREEN.point(2, 2), 2),
    ]


def test_a_tipping_point_is_marked_at_its_level_on_its_factor_s_axis() -> None:
    chart = radar([(("Answers", ""), "series-a", ALL_THREE)], [("risk_tolerance", 4, "If ...")])
    [marker] = chart.markers
    assert (marker.x, marker.y, marker.label) == (*SCREEN.point(2, 4), "If ...")


def test_the_charter_outlines_as_many_respondents_as_it_has_styles_and_counts_the_rest() -> None:
    sides = ("Producer side", "Creator side")
    people = [(f"Person {i}", sides[i % 2], ALL_THREE | {"innovation": 1 + i}) for i in range(5)]
    chart = printed_radar(ALL_THREE, people)
    agreed, *outlined = chart.series
    assert (agreed.name, agreed.style) == (RESTS_ON, None)
    assert agreed.points == PRINT.outline([3] * len(FACTORS))
    assert len(outlined) == len(OVERLAY_STYLES) == 3
    assert [o.style for o in outlined] == [
        Outline(side, *style) for (_, side, _), style in zip(people, OVERLAY_STYLES, strict=False)
    ]
    assert [o.points for o in outlined] == [
        printed_radar(own).series[0].points for _, _, own in people[:3]
    ]
    assert chart.left_out == (("Person 3", "Creator side"), ("Person 4", "Producer side"))
    assert printed_radar(ALL_THREE, people[:3]).left_out == ()
    assert chart.frame is PRINT
