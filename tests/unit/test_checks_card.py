"""Card checks on generated images: a synthetic CCCD around the astronaut
(scikit-image, public domain), photographed by a virtual phone, photocopied,
or not a card at all. The face box is placed where the portrait's face is,
from the known portrait box, so no model is needed."""

from __future__ import annotations

import numpy as np
import pytest

from facematch.checks.card import (
    CardLimits,
    card_presence,
    document_colour,
    face_colour,
    facing,
    photocopy,
    text_lines,
    text_sides,
)
from tools.synth import cards

LIM = CardLimits()


def face_in_portrait(portrait: tuple[int, int, int, int]) -> tuple[float, float, float, float]:
    """Where a detector puts the face inside a printed 3:4 portrait of the astronaut's head."""
    x1, y1, x2, y2 = portrait
    w, h = x2 - x1, y2 - y1
    return (x1 + 0.29 * w, y1 + 0.24 * h, x1 + 0.71 * w, y1 + 0.60 * h)


@pytest.fixture(scope="module")
def head(astronaut) -> np.ndarray:
    return astronaut[0:300, 113:338]


@pytest.fixture(scope="module")
def card(head):
    return cards.render_card(head, np.random.default_rng(0))


@pytest.fixture(scope="module")
def card_photo(card):
    flat, portrait = card
    photo, homography = cards.photograph_with_homography(flat, np.random.default_rng(1))
    return photo, face_in_portrait(cards.map_box(portrait, homography))


@pytest.fixture(scope="module")
def copy_photo(card):
    flat, portrait = card
    rng = np.random.default_rng(2)
    photo, homography = cards.photograph_with_homography(cards.photocopy(flat, rng), rng)
    return photo, face_in_portrait(cards.map_box(portrait, homography))


def selfie_face_box() -> tuple[float, float, float, float]:
    """The astronaut's face in conftest's ``astronaut_selfie`` (mirrored, x700/512, at (290, 130))."""
    x1, y1, x2, y2 = 172.6, 73.0, 276.4, 176.8  # in the 512 x 512 original
    s = 700 / 512
    return (290 + (512 - x2) * s, 130 + y1 * s, 290 + (512 - x1) * s, 130 + y2 * s)


def test_photographed_card_is_a_document(card_photo):
    photo, face = card_photo
    assert text_lines(photo, face, LIM) >= LIM.min_text_lines
    assert card_presence(photo, face, "img1", LIM) == []


def test_flat_card_without_a_face_is_a_document(card):
    assert card_presence(card[0], None, "img1", LIM) == []


def test_card_filling_the_frame_with_large_print_is_a_document_without_a_face():
    """A card photographed edge to edge, its print 60 px tall on 1,600 px (a 3 mm line on an 85.6 mm card):
    at the 1,000 px long side the lines are 37 px thick, past what a line of print may be, and only the
    half scale (19 px) counts them. No face gives the print's size, so both are tried."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1600, 1010), (236, 228, 210))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(["IDENTITY CARD", "Surname: NGUYEN", "Given names: VAN AN", "Born: 01.02.1990",
                              "Expires: 01.02.2030"]):
        draw.text((520, 120 + i * 114), line, fill=(30, 30, 40), font=cards._font(60))
    page = np.asarray(img)
    assert text_lines(page, None, LIM) >= LIM.min_text_lines
    assert card_presence(page, None, "img1", LIM) == []


def test_selfie_sent_as_card_is_no_document(astronaut_selfie):
    found = card_presence(astronaut_selfie, selfie_face_box(), "img1", LIM)
    assert [f.code for f in found] == [1]
    assert found[0].value < LIM.min_text_lines and found[0].limit == LIM.min_text_lines


def test_scene_without_text_or_face_is_no_document(no_face):
    assert [f.code for f in card_presence(no_face, None, "img1", LIM)] == [1]


def test_colour_card_is_not_a_photocopy(card_photo):
    photo, face = card_photo
    assert face_colour(photo, face) >= LIM.min_face_colour
    assert photocopy(photo, face, "img1", LIM) == []


def test_greyscale_copy_is_a_photocopy(copy_photo):
    photo, face = copy_photo
    found = photocopy(photo, face, "img1", LIM)
    assert [f.code for f in found] == [2]
    assert found[0].value < LIM.min_face_colour


@pytest.mark.parametrize("light", [(1.03, 1.0, 0.9), (1.12, 0.97, 0.7), (0.9, 1.0, 1.05)])
def test_greyscale_copy_under_a_warm_or_cool_light_is_a_photocopy(copy_photo, card_photo, light):
    """A tint moves the paper's a*b* more than the toner's, which reads as colour; made white by the paper's
    own white, the copy is grey again. The colour card under the same light stays a colour card."""
    def lit(photo: np.ndarray) -> np.ndarray:
        return np.clip(photo.astype(np.float32) * np.array(light, np.float32), 0, 255).astype(np.uint8)

    for (photo, face), copy in ((copy_photo, True), (card_photo, False)):
        assert [f.code for f in photocopy(lit(photo), face, "img1", LIM)] == ([2] if copy else [])
    photo, face = copy_photo
    assert face_colour(lit(photo), face) > face_colour(photo, face)  # as the photo is, the tint reads as colour


def test_grey_portrait_on_a_colour_document_is_not_a_photocopy(card):
    """Many genuine documents engrave the portrait in grey and print colour around it: only a document grey
    throughout is a copy."""
    import cv2

    flat, portrait = card
    x1, y1, x2, y2 = portrait
    engraved = flat.copy()
    grey = cv2.cvtColor(np.ascontiguousarray(flat[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    engraved[y1:y2, x1:x2] = grey[:, :, None]
    right = slice(x2 + 20, min(engraved.shape[1], x2 + 20 + 2 * (x2 - x1)))
    for i, row in enumerate(range(y1, y2 - 8, 24)):  # coloured print beside it: an emblem's red, a title's blue
        engraved[row:row + 8, right] = (200, 40, 40) if i % 2 else (40, 60, 200)
    photo, homography = cards.photograph_with_homography(engraved, np.random.default_rng(1))
    face = face_in_portrait(cards.map_box(portrait, homography))
    assert face_colour(photo, face) < LIM.min_face_colour
    assert document_colour(photo, face) >= LIM.min_document_colour
    assert photocopy(photo, face, "img1", LIM) == []


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_upright_maps_the_box_with_the_pixels(card_photo, turns):
    """``upright`` turns the photo and maps the face box so that the box covers the same pixels."""
    from facematch.checks.card import upright

    photo, face = card_photo
    turned = np.ascontiguousarray(np.rot90(photo, -turns))  # the photo as a camera turned the other way took it
    h, w = photo.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in face)
    back, box = upright(turned, _turned_box(face, w, h, turns), turns)
    assert back.shape == photo.shape and np.array_equal(back, photo)
    assert box is not None and np.allclose(box, (x1, y1, x2, y2), atol=1.0)


def _turned_box(box, w, h, turns):
    """``box`` in the photo turned clockwise ``turns`` quarters (``np.rot90(photo, -turns)``)."""
    x1, y1, x2, y2 = (round(v) for v in box)
    for _ in range(turns):
        x1, y1, x2, y2, w, h = h - y2, x1, h - y1, x2, h, w
    return (x1, y1, x2, y2)


@pytest.mark.parametrize("turns", [1, 3])
def test_card_turned_a_quarter_is_still_a_document(card_photo, turns):
    """A card photographed turned a quarter: its text runs up or down beside the portrait. Turned upright
    by the face's eye line (``quarter_turns``) it shows its text lines again."""
    from facematch.checks.card import quarter_turns, upright

    photo, face = card_photo
    h, w = photo.shape[:2]
    turned = np.ascontiguousarray(np.rot90(photo, -turns))
    box = _turned_box(face, w, h, turns)
    # A face mesh's eye corners on the turned face: an upright face's eye line (+x) turned clockwise.
    mesh = np.zeros((468, 3), np.float32)
    direction = {1: (0.0, 1.0), 3: (0.0, -1.0)}[turns]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    for i, sign in ((33, -1), (133, -1), (263, 1), (362, 1)):
        mesh[i, :2] = (cx + sign * 20 * direction[0], cy + sign * 20 * direction[1])
    k = quarter_turns(mesh)
    assert k == turns
    assert card_presence(*upright(turned, box, k), "img1", LIM) == []
    assert quarter_turns(None) == 0


def test_card_turned_a_quarter_reads_as_no_document_unless_turned_upright(card_photo):
    """Why the turn is needed: looked at as it lies, this turned card's text runs across the regions beside
    the portrait, and too few lines are found."""
    photo, face = card_photo
    h, w = photo.shape[:2]
    turned = np.ascontiguousarray(np.rot90(photo, -3))
    assert [f.code for f in card_presence(turned, _turned_box(face, w, h, 3), "img1", LIM)] == [1]


def mirrored(photo: np.ndarray, face: tuple[float, float, float, float]):
    w = photo.shape[1]
    return np.ascontiguousarray(photo[:, ::-1]), (w - face[2], face[1], w - face[0], face[3])


def test_the_text_lies_right_of_a_cccd_portrait_and_left_once_mirrored(card_photo):
    photo, face = card_photo
    left, right = text_sides(photo, face, LIM)
    assert right >= LIM.min_text_lines and left <= 1
    assert text_sides(*mirrored(photo, face), LIM) == (right, left)


def test_a_mirrored_card_is_read_facing_the_right_way(card_photo, copy_photo):
    """A card photo saved mirrored (a front camera, a web page's mirrored preview) is mirrored back for the
    card checks; one as printed is left as it is."""
    photo, face = card_photo
    same, box = facing(photo, face, LIM)
    assert same is photo and box == face
    flipped, flipped_face = mirrored(photo, face)
    back, box = facing(flipped, flipped_face, LIM)
    assert np.array_equal(back, photo) and box == pytest.approx(face)
    # The mirrored copy is still a copy and the mirrored colour card still a colour card, read facing.
    for (p, f), copy in ((copy_photo, True), (card_photo, False)):
        assert [x.code for x in photocopy(*facing(*mirrored(p, f), LIM), "img1", LIM)] == ([2] if copy else [])


@pytest.mark.parametrize("seed", range(6))
def test_a_cccd_printed_with_its_diacritics_is_a_document(head, seed):
    """The fields of a CCCD start right beside its portrait, and the detector's box on a printed portrait
    reaches the portrait's edges: the lines beside it (their centre well to the portrait's right) count.
    Printed with its diacritics ("CỘNG HÒA XÃ HỘI...", "NGUYỄN"), the header's lines are too thick to count,
    and these are what is left; they used to be dropped with the face."""
    flat, portrait = cards.render_card(head, np.random.default_rng(seed), marked=True)
    photo, homography = cards.photograph_with_homography(flat, np.random.default_rng(seed + 100))
    x1, y1, x2, y2 = cards.map_box(portrait, homography)
    face = (x1, y1 + 0.05 * (y2 - y1), x2, y2 - 0.05 * (y2 - y1))
    assert text_lines(photo, face, LIM) >= LIM.min_text_lines
    assert card_presence(photo, face, "img1", LIM) == []


def test_vietnamese_marks_the_renderer_text():
    assert cards.vietnamese("CONG HOA XA HOI CHU NGHIA VIET NAM") == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert cards.vietnamese("So 15, Ngo 2, Phuong Dich Vong, Cau Giay") == "Số 15, Ngõ 2, Phường Dịch Vọng, Cầu Giấy"
    assert cards.vietnamese("Unknown Words") == "Unknown Words"
