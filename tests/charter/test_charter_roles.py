"""The roles section: one coherent set of responsibilities per side, whatever the model."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from conftest import EVERY_MODEL, make_details
from pypdf import PdfReader

from assess import charter
from assess.charter.texts import HYBRID_ROLES, ROLES, Roles
from assess.decision import Decision
from assess.engine import evaluate
from assess.factors import FACTOR_KEYS
from assess.partnership import BY_KEY as MODELS
from assess.partnership import MODEL_KEYS

pytestmark = pytest.mark.xdist_group("charter-pdf")

HYBRIDS = [components for components in EVERY_MODEL if len(components) == 2]
SINGLES = [components for components in EVERY_MODEL if len(components) == 1]

INTEGRATED, RESOURCE, AGILE = ROLES["integrated"], ROLES["strategic_resource"], ROLES["agile"]

# Duties of one model that contradict the other model's, or take from the other side what
# the pair gives it: a hybrid's charter must print none of them as they stand.
CONFLICTING: dict[tuple[str, str], tuple[str, ...]] = {
    # A resource partner as the equal creative partner the co-creation leads with.
    ("integrated", "strategic_resource"): (RESOURCE.producer[1], RESOURCE.creator[0]),
    # A resource partnership whose partner shares in only some of the creative work.
    ("strategic_resource", "integrated"): (
        INTEGRATED.producer[0],
        INTEGRATED.creator[1],
        INTEGRATED.shared[0],
    ),
    # Co-creation in sprints: direction and the order of the work are decided jointly.
    ("integrated", "agile"): (AGILE.producer[1], AGILE.creator[1]),
    ("agile", "integrated"): (AGILE.producer[1], AGILE.creator[1]),
    # Creative direction stays with the Creator side, and a change of scope does not move a
    # resource's agreed terms.
    ("agile", "strategic_resource"): (AGILE.producer[1], AGILE.shared[0]),
    ("strategic_resource", "agile"): (AGILE.producer[0], AGILE.producer[1], AGILE.shared[0]),
}

OLD_BRIDGE = "The responsibilities of the secondary model apply where its protocols apply."


def decision_for(components: tuple[str, ...]) -> Decision:
    digits = EVERY_MODEL[components]
    decision = evaluate(dict(zip(FACTOR_KEYS, map(int, digits), strict=True)))
    assert decision.components == components
    return decision


def duties(roles: Roles) -> list[str]:
    return [*roles.producer, *roles.creator, *roles.shared]


def roles_section(html: str) -> str:
    return html.split('id="section-roles"', 1)[1].split("</section>", 1)[0]


def items(section: str) -> list[str]:
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", "", item)).split())
        for item in re.findall(r"<li>(.*?)</li>", section, re.DOTALL)
    ]


def introduction(section: str) -> str:
    """The first paragraph's text, its number left out."""
    first = section.split('<span class="pn">', 1)[1].split("</span>", 1)[1].split("</p>", 1)[0]
    return " ".join(unescape(re.sub(r"<[^>]+>", "", first)).split())


def printed_roles(pdf: bytes) -> str:
    """The roles section as read back from the PDF, white space collapsed."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    # The contents name the section too: its text follows the heading's last appearance.
    section = text.rsplit("Roles and responsibilities", 1)[1]
    return section.split("Each side names one lead", 1)[0]


def test_every_ordered_pair_of_models_has_its_own_responsibilities() -> None:
    pairs = {(a, b) for a in MODEL_KEYS for b in MODEL_KEYS if a != b}
    assert set(HYBRID_ROLES) == pairs
    assert set(HYBRIDS) == pairs
    for roles in HYBRID_ROLES.values():
        assert roles.producer and roles.creator and roles.shared


@pytest.mark.parametrize("pair", HYBRIDS, ids="+".join)
def test_a_hybrid_s_charter_prints_one_coherent_set_of_responsibilities(
    pair: tuple[str, str],
) -> None:
    pdf = charter.to_pdf(decision_for(pair), make_details())
    printed = printed_roles(pdf)
    for duty in duties(HYBRID_ROLES[pair]):
        assert duty in printed, duty
    for duty in CONFLICTING[pair]:
        assert duty not in printed, duty
    assert OLD_BRIDGE not in printed


@pytest.mark.parametrize("pair", HYBRIDS, ids="+".join)
def test_a_hybrid_s_roles_are_one_table_of_the_pair_s_duties_alone(
    pair: tuple[str, str],
) -> None:
    section = roles_section(charter.to_html(decision_for(pair), make_details()))
    assert section.count("<table") == 1
    assert "<caption" not in section
    assert items(section) == duties(HYBRID_ROLES[pair])
    lead = introduction(section)
    assert OLD_BRIDGE not in lead
    primary, secondary = (MODELS[key].title for key in pair)
    assert lead == (
        f"Under the hybrid of {primary} (primary) and {secondary} (secondary), each side takes "
        "on the responsibilities below, in addition to its obligations under the partnership "
        f"contract. They are written for the hybrid as a whole, with {primary} leading, and "
        "take the place of the responsibilities either model carries on its own."
    )


@pytest.mark.parametrize("model", SINGLES, ids="+".join)
def test_a_single_model_s_roles_are_its_own(model: tuple[str]) -> None:
    [key] = model
    section = roles_section(charter.to_html(decision_for(model), make_details()))
    assert section.count("<table") == 1
    assert "<caption" not in section
    assert items(section) == duties(ROLES[key])
    assert introduction(section) == (
        f"Under the {MODELS[key].title} model, each side takes on the responsibilities below, "
        "in addition to its obligations under the partnership contract."
    )


# The hybrids whose roles defer to the resource and creative boundaries.
BOUNDED = [pair for pair in HYBRIDS if "boundaries" in " ".join(duties(HYBRID_ROLES[pair]))]


@pytest.mark.parametrize("pair", BOUNDED, ids="+".join)
def test_the_boundaries_a_hybrid_s_roles_rely_on_are_drawn_in_its_charter(
    pair: tuple[str, str],
) -> None:
    """The clause that asks the sides to write the boundaries down asks for what the roles
    rely on: the creative decisions left to the Creator side, and any work opened to joint
    development."""
    html = charter.to_html(decision_for(pair), make_details())
    clause = html.split('id="clause-resource-boundaries"', 1)[1].split("</article>", 1)[0]
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", clause)).split())
    assert "the creative decisions that stay with the Creator side" in text
    if "opened to joint development" in " ".join(duties(HYBRID_ROLES[pair])):
        assert "any work opened to joint development" in text
