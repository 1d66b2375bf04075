"""The ghost portrait (finding 3 ``ghost_mismatch``) on the real models: the astronaut's synthetic card
printed with a second, smaller copy of her portrait, as it is and with its portrait replaced by another
person's (the ghost kept), with the ghost search on (``fraud.ghost_search_window``)."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.types import ImageKind, InvalidCode
from tools.synth import cards

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def searching(model_pool):
    from facematch.matcher import build_matcher
    from facematch.settings import Settings

    m = build_matcher(Settings(check_limits={"fraud.ghost_search_window": 4}), pool=model_pool)
    yield m
    m.close()


@pytest.fixture(scope="module")
def card(astronaut):
    return cards.render_card(astronaut[0:300, 113:338], np.random.default_rng(0), ghost=True, width=1400)


def checks(analysis) -> list[str]:
    return [f.check for f in analysis.findings]


def test_the_holders_own_ghost_is_part_of_the_card(searching, card):
    """Found, matched with the portrait, and so not a second face (6) or a tampering (3)."""
    a = searching.analyze_image(card[0], ImageKind.CARD, "img1")
    assert len(a.ghosts) == 1 and a.ghosts[0].matching >= searching.checks.fraud.min_ghost_matching
    assert a.face is not None and (a.ghosts[0].box[2] - a.ghosts[0].box[0]) / (a.face.box[2] - a.face.box[0]) > 0.35
    assert "several_faces" not in checks(a) and InvalidCode.TAMPERING not in {f.code for f in a.findings}


def test_a_portrait_replaced_without_its_ghost_is_tampering(searching, card, cameraman):
    """The cameraman's face pasted over the portrait, framed as the astronaut's is; her ghost stays."""
    forged = cards.swap_portrait(card[0], card[1], cameraman[70:260, 152:295], np.random.default_rng(1))
    a = searching.analyze_image(forged, ImageKind.CARD, "img1")
    found = [f for f in a.findings if f.check == "ghost_mismatch"]
    assert [(f.code, f.image) for f in found] == [(InvalidCode.TAMPERING, "img1")]
    assert found[0].value < found[0].limit == searching.checks.fraud.min_ghost_matching


def test_a_card_without_a_ghost_is_not_searched_into_one(searching, astronaut):
    """The CCCD prints no ghost: nothing is compared, nothing is flagged."""
    plain, _ = cards.render_card(astronaut[0:300, 113:338], np.random.default_rng(0), width=1400)
    a = searching.analyze_image(plain, ImageKind.CARD, "img1")
    assert a.ghosts == [] and checks(a) == []


def test_portraits_are_never_searched(searching, astronaut):
    a = searching.analyze_image(np.ascontiguousarray(astronaut), ImageKind.PORTRAIT, "img2")
    assert a.ghosts == [] and "ghost" not in a.timings
