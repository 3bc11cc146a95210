"""Answer sets the tests share."""

from __future__ import annotations

# A team that innovates, trusts and plans for the long run, under little time pressure: the
# engine decides on an integrated partnership.
INTEGRATED = {
    "innovation": 5,
    "resource_availability": 4,
    "risk_tolerance": 4,
    "relationship_duration": 4,
    "timeline_pressure": 2,
    "creative_collaboration": 5,
    "iteration_readiness": 3,
    "planning_complexity": 3,
}
