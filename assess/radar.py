"""Geometry of the radar chart of the eight factors, drawn as SVG by a template."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from assess.factors import FACTORS

SIZE = 440
CENTRE = SIZE / 2
RADIUS = 150
LEVELS = 5


@dataclass(frozen=True)
class Axis:
    key: str
    label: str
    x: float
    y: float
    label_x: float
    label_y: float
    anchor: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str
    points: str  # empty while answers are missing: a shape through the centre would lie
    dots: tuple[tuple[float, float, int], ...]


@dataclass(frozen=True)
class Marker:
    """A tipping point: moving one answer here changes the recommendation."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Radar:
    size: int
    centre: float
    axes: tuple[Axis, ...]
    rings: tuple[str, ...]
    series: tuple[Series, ...]
    markers: tuple[Marker, ...]
    left_out: tuple[str, ...] = ()  # the names of answer sets not drawn, to say so


def _point(index: int, value: float) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * index / len(FACTORS)
    r = RADIUS * value / LEVELS
    return round(CENTRE + r * math.cos(angle), 1), round(CENTRE + r * math.sin(angle), 1)


def _wrap(label: str, width: int = 16) -> tuple[str, ...]:
    """Split a long axis label into two balanced lines so it stays inside the chart."""
    if len(label) <= width:
        return (label,)
    words = label.split()
    best = min(
        range(1, len(words)),
        key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))),
    )
    return (" ".join(words[:best]), " ".join(words[best:]))


def _polygon(values: Sequence[float]) -> str:
    return " ".join(f"{x},{y}" for x, y in (_point(i, v) for i, v in enumerate(values)))


def radar(
    series: Sequence[tuple[str, str, Mapping[str, int]]],
    tipping: Sequence[tuple[str, int, str]] = (),
    left_out: Sequence[str] = (),
) -> Radar:
    """Lay out the chart for answer sets (name, css class, answers) and tipping points;
    `left_out` names the answer sets too many to draw, which the chart then mentions."""
    axes = []
    for i, factor in enumerate(FACTORS):
        x, y = _point(i, LEVELS)
        lx, ly = _point(i, LEVELS + 1.15)
        anchor = "middle" if abs(lx - CENTRE) < 20 else ("start" if lx > CENTRE else "end")
        lines = _wrap(factor.label)
        # Centre multi-line labels vertically on their anchor point.
        ly = round(ly - 7.5 * (len(lines) - 1), 1)
        axes.append(Axis(factor.key, factor.label, x, y, lx, ly, anchor, lines))
    rings = tuple(_polygon([level] * len(FACTORS)) for level in range(1, LEVELS + 1))
    drawn = []
    for name, css_class, answers in series:
        values = [answers.get(f.key, 0) for f in FACTORS]
        dots = tuple((*_point(i, v), v) for i, v in enumerate(values) if v)
        points = _polygon(values) if all(values) else ""
        drawn.append(Series(name, css_class, points, dots))
    index = {f.key: i for i, f in enumerate(FACTORS)}
    markers = tuple(Marker(*_point(index[key], to), label) for key, to, label in tipping)
    return Radar(SIZE, CENTRE, tuple(axes), rings, tuple(drawn), markers, tuple(left_out))
