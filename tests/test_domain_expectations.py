"""What the domain expects of every answer set, checked on slices where the rules once
decided otherwise (the exhaustive sweep checks the same invariants everywhere)."""

from __future__ import annotations

import pytest

from assess.sweep import (
    PARTNER_BRINGS_ASSETS,
    RESOURCES_IN_HAND,
    SHARED_CREATIVE_DECISIONS,
    _sweep_chunk,
)


# Each slice fixes the first three factors (innovation, resource availability, risk
# tolerance) and evaluates all 3,125 answer sets below it.
@pytest.mark.parametrize(
    ("invariant", "prefix"),
    [
        # A proven formula with everything in hand, creative calls on one side and a team
        # that needs a fixed plan speaks against every model; a resource partnership must
        # still not be the one that leads.
        (RESOURCES_IN_HAND, (1, 4, 1)),
        (RESOURCES_IN_HAND, (1, 5, 3)),
        # Shared creative decisions in agile or resource-led work.
        (SHARED_CREATIVE_DECISIONS, (3, 3, 3)),
        (SHARED_CREATIVE_DECISIONS, (1, 1, 1)),
        # Critical assets from a partner in co-creation or agile work.
        (PARTNER_BRINGS_ASSETS, (5, 1, 5)),
        (PARTNER_BRINGS_ASSETS, (4, 1, 1)),
    ],
)
def test_the_domain_expectation_holds_for_every_answer_set_in_the_slice(
    invariant: str, prefix: tuple[int, ...]
) -> None:
    result = _sweep_chunk((prefix, None))
    assert result.evaluated == 5**5
    assert invariant not in result.violations, result.violations[invariant]
