"""The card's own photograph shown as the selfie (finding 10 ``same_photo``), on the real models: the
astronaut's synthetic card photographed again, mirrored, or sent as it is, against another person and
against a second portrait."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.types import InvalidCode
from tests.support.images import match
from tools.synth import cards

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def printed(astronaut):
    """The card (flat) and one phone photo of it."""
    card, _ = cards.render_card(astronaut[0:300, 113:338], np.random.default_rng(0))
    return card, cards.photograph(card, np.random.default_rng(1))


def same_photo(result):
    return [f for f in result.findings if f.check == "same_photo"]


@pytest.mark.parametrize("how", ["reshot", "mirrored", "as_sent"])
def test_the_card_shown_again_is_flagged_on_the_portrait(matcher, printed, how):
    card, photo = printed
    selfie = {"reshot": lambda: cards.photograph(card, np.random.default_rng(7)),
              "mirrored": lambda: np.ascontiguousarray(cards.photograph(card, np.random.default_rng(7))[:, ::-1]),
              "as_sent": lambda: photo}[how]()
    result = match(matcher, photo, selfie, "card")
    found = same_photo(result)
    assert [(f.image, f.code) for f in found] == [("img2", InvalidCode.FRAUD)]
    assert found[0].value > found[0].limit == matcher.checks.fraud.max_photo_similarity
    assert result.invalid_code is InvalidCode.FRAUD
    assert result.match == 1  # the face is the card's: the match itself stands, the warning says why not to trust it


def test_another_person_is_not_the_same_photo(matcher, printed, cameraman):
    result = match(matcher, printed[1], cameraman, "card")
    assert same_photo(result) == []


def test_chip_portrait_shown_again_is_flagged(matcher, astronaut):
    """A chip portrait is a document's photo too: the same face re-shot is flagged."""
    chip = astronaut[0:300, 113:338]
    selfie = cards.render_portrait_selfie(chip, np.random.default_rng(5))
    assert [f.image for f in same_photo(match(matcher, chip, selfie, "chip"))] == ["img2"]


def test_two_portraits_are_never_compared(matcher, astronaut):
    """Two live portraits may come from one sitting: the check is for a document's photo only."""
    selfie = cards.render_portrait_selfie(astronaut[0:300, 113:338], np.random.default_rng(5))
    assert same_photo(match(matcher, astronaut, selfie, "portrait")) == []
