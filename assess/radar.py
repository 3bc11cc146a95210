"""The radar chart of the eight factors: where each answer, ring, axis and name goes.

One geometry for the web pages and the printed charter; their templates only draw it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, pairwise
from typing import Generic, TypeVar

from assess.factors import FACTORS

LEVELS = 5

S = TypeVar("S")


@dataclass(frozen=True)
class Frame:
    """How large a chart is drawn and how its names are set; the shape is the same in all."""

    size: float
    radius: float  # of the outer ring, level 5
    label_level: float  # how far out the factor names are centred, on the scale of the levels
    line_height: float  # of the factor names
    label_width: int  # characters a line of a name may take before it wraps
    label_lines: int  # at most; the more lines a name may take, the narrower it stands
    places: int  # decimals kept in the coordinates

    @property
    def centre(self) -> float:
        return self.size / 2

    def point(self, index: float, level: float) -> tuple[float, float]:
        """Where `level` lies on the axis of the factor at `index`: 0 points straight up,
        and a fraction points between two axes."""
        angle = -math.pi / 2 + 2 * math.pi * index / len(FACTORS)
        r = self.radius * level / LEVELS
        x, y = self.centre + r * math.cos(angle), self.centre + r * math.sin(angle)
        return round(x, self.places), round(y, self.places)

    def outline(self, levels: Sequence[float]) -> str:
        """The points of a polygon through one level per factor, in factor order."""
        return " ".join(f"{x},{y}" for x, y in (self.point(i, v) for i, v in enumerate(levels)))


# The web chart's names sit in a wide margin the page gives it; the printed chart is narrower
# and keeps a line for each word of a long name.
SCREEN = Frame(
    size=440, radius=150, label_level=6.15, line_height=15, label_width=16, label_lines=2, places=1
)
PRINT = Frame(
    size=340.0,
    radius=85.0,
    label_level=5.75,
    line_height=10,
    label_width=16,
    label_lines=3,
    places=2,
)


@dataclass(frozen=True)
class Axis:
    key: str
    label: str
    x: float  # where the axis meets the outer ring
    y: float
    label_x: float  # where the name is centred
    label_y: float
    anchor: str
    lines: tuple[str, ...]
    first_line_y: float  # so that the lines together centre on label_y


@dataclass(frozen=True)
class Ring:
    level: int
    points: str
    # Where the ring's number goes: halfway along its edge between the first two axes, where
    # no answer or tipping point is ever drawn.
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Series(Generic[S]):
    """One set of answers; `style` is what the drawing tells the sets apart by."""

    name: str
    side: str  # said after the name where one person answers for each side, else ""
    style: S
    points: str  # empty while answers are missing: a shape through the centre would lie
    dots: tuple[tuple[float, float, int], ...]
    levels: tuple[int, ...]  # the answer on each axis, 0 where there is none


@dataclass(frozen=True)
class Marker:
    """A tipping point: moving one answer here changes the recommendation."""

    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Radar(Generic[S]):
    frame: Frame
    axes: tuple[Axis, ...]
    rings: tuple[Ring, ...]
    series: tuple[Series[S], ...]
    markers: tuple[Marker, ...]
    left_out: tuple[tuple[str, str], ...] = ()  # (name, side) of answer sets not drawn

    @property
    def size(self) -> float:
        return self.frame.size

    @property
    def centre(self) -> float:
        return self.frame.centre


def wrap_label(label: str, width: int, most: int) -> tuple[str, ...]:
    """Break a name into the fewest lines, at most `most`, that keep within `width` characters
    (a longer word keeps a line to itself), and of those the most even: a name set in one
    long line and a short one looks lopsided beside its axis."""
    words = label.split()
    most = min(most, len(words))
    for count in range(1, most + 1):
        splits = [
            tuple(" ".join(words[a:b]) for a, b in pairwise((0, *breaks, len(words))))
            for breaks in combinations(range(1, len(words)), count - 1)
        ]
        fitting = [s for s in splits if all(len(line) <= width or " " not in line for line in s)]
        if fitting or count == most:
            return min(fitting or splits, key=lambda lines: sum(len(line) ** 2 for line in lines))
    return (label,)


def _axis(frame: Frame, index: int) -> Axis:
    factor = FACTORS[index]
    x, y = frame.point(index, LEVELS)
    label_x, label_y = frame.point(index, frame.label_level)
    # Only the names straight above and below the centre stand across their axis.
    if abs(label_x - frame.centre) < 1:
        anchor = "middle"
    else:
        anchor = "start" if label_x > frame.centre else "end"
    lines = wrap_label(factor.label, frame.label_width, frame.label_lines)
    first = round(label_y - frame.line_height / 2 * (len(lines) - 1), frame.places)
    return Axis(factor.key, factor.label, x, y, label_x, label_y, anchor, lines, first)


def _ring(frame: Frame, level: int) -> Ring:
    # The middle of an edge lies between two axes, closer in than the corners.
    x, y = frame.point(0.5, level * math.cos(math.pi / len(FACTORS)))
    return Ring(level, frame.outline([level] * len(FACTORS)), x, y)


def radar(
    series: Sequence[tuple[tuple[str, str], S, Mapping[str, int]]],
    tipping: Sequence[tuple[str, int, str]] = (),
    left_out: Sequence[tuple[str, str]] = (),
    *,
    frame: Frame = SCREEN,
) -> Radar[S]:
    """Lay out the chart for answer sets ((name, side), style, answers) and tipping points;
    `left_out` names the answer sets too many to draw, which the chart then mentions. Each
    name comes with its side apart (see `told_apart`), so that a page isolates the name."""
    drawn = []
    for (name, side), style, answers in series:
        levels = [answers.get(f.key, 0) for f in FACTORS]
        dots = tuple((*frame.point(i, v), v) for i, v in enumerate(levels) if v)
        points = frame.outline(levels) if all(levels) else ""
        drawn.append(Series(name, side, style, points, dots, tuple(levels)))
    index = {f.key: i for i, f in enumerate(FACTORS)}
    return Radar(
        frame,
        axes=tuple(_axis(frame, i) for i in range(len(FACTORS))),
        rings=tuple(_ring(frame, level) for level in range(1, LEVELS + 1)),
        series=tuple(drawn),
        markers=tuple(Marker(*frame.point(index[key], to), label) for key, to, label in tipping),
        left_out=tuple(left_out),
    )
