"""Synthetic CCCD-like Vietnamese ID cards and virtual photographs of them.

Test and benchmark data only: nothing here reads a real document.  Every
function is deterministic given its ``rng`` (a :class:`numpy.random.Generator`
or an integer seed) and works on RGB ``uint8`` arrays of shape ``(H, W, 3)``.

* :func:`render_card` - the front side of a card in the CCCD (chip card) layout,
  with the given face as the portrait; returns the card and the portrait box.
* :func:`photograph` - a phone photo of a card lying on a table
  (:func:`photograph_with_homography` also returns the card -> photo mapping,
  :func:`map_box` carries the portrait box through it).
* :func:`photocopy` - a greyscale print-and-scan of a card.
* :func:`swap_portrait` - a tampered card whose portrait was pasted over.
* :func:`screen_recapture` / :func:`print_recapture` - presentation attacks:
  an image shown on an LCD, or printed, and photographed again.
* :func:`render_portrait_selfie` - a selfie-like photo of a face image.

``python -m tools.synth.cards OUTDIR [SEED]`` writes one example of each.
"""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "CARD_ASPECT",
    "Box",
    "card_height",
    "crop_to_aspect",
    "map_box",
    "photocopy",
    "photograph",
    "photograph_with_homography",
    "print_recapture",
    "random_identity",
    "render_card",
    "render_portrait_selfie",
    "screen_recapture",
    "swap_portrait",
]

Box = tuple[int, int, int, int]
RngLike = np.random.Generator | int | None

CARD_W_MM = 85.6
CARD_H_MM = 53.98
CARD_ASPECT = CARD_W_MM / CARD_H_MM  # width / height, ISO/IEC 7810 ID-1
PORTRAIT_ASPECT = 3 / 4  # width / height of the printed portrait

_RED = (200, 28, 36)
_DARK = (28, 28, 34)
_LABEL = (52, 52, 60)


# --------------------------------------------------------------------------- helpers


def _rng(rng: RngLike) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _as_rgb_u8(img: np.ndarray) -> np.ndarray:
    """Any grey / RGB / RGBA, uint8 or float image as contiguous RGB uint8."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        a = a.astype(np.float32)
        if a.size and float(a.max()) <= 1.0:
            a = a * 255.0
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an image of shape (H, W[, 1|3|4]), got {np.shape(img)}")
    return np.ascontiguousarray(a)


def _u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def card_height(width: int) -> int:
    """Card height in pixels for a card ``width`` pixels wide (85.6 x 53.98 mm)."""
    return int(round(width * CARD_H_MM / CARD_W_MM))


def crop_to_aspect(img: np.ndarray, aspect: float) -> np.ndarray:
    """Centred crop of ``img`` to ``width / height == aspect``."""
    h, w = img.shape[:2]
    if w / h > aspect:
        nw = max(1, int(round(h * aspect)))
        x0 = (w - nw) // 2
        return img[:, x0 : x0 + nw]
    nh = max(1, int(round(w / aspect)))
    y0 = (h - nh) // 2
    return img[y0 : y0 + nh]


def _resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` = (W, H), area filter when shrinking, cubic when enlarging."""
    w, h = size
    if (w, h) == (img.shape[1], img.shape[0]):
        return img.copy()
    shrink = w < img.shape[1] and h < img.shape[0]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; large sigmas go through a smaller image (same look, a fraction of the time)."""
    if sigma < 0.05:
        return a
    h, w = a.shape[:2]
    if sigma > 8 and min(h, w) > 64:
        k = sigma / 4.0
        sw, sh = max(8, int(round(w / k))), max(8, int(round(h / k)))
        small = cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma * sw / w, sigmaY=sigma * sh / h)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(a, (0, 0), sigmaX=float(sigma), sigmaY=float(sigma))


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
        raise RuntimeError("JPEG encoding failed")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: tuple[int, int], channels: int = 1) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a (cells_y, cells_x) grid of normals, bicubically enlarged."""
    cy, cx = max(2, int(cells[0])), max(2, int(cells[1]))
    shape = (cy, cx) if channels == 1 else (cy, cx, channels)
    g = rng.standard_normal(shape).astype(np.float32)
    out = cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(out / 2.0, -1.5, 1.5)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


def _linear_ramp(h: int, w: int, angle: float) -> np.ndarray:
    """A ramp in [-1, 1] across the image along direction ``angle`` (radians)."""
    yy, xx = _grid(h, w)
    c, s = math.cos(angle), math.sin(angle)
    r = (xx - w / 2) * c + (yy - h / 2) * s
    half = abs(w / 2 * c) + abs(h / 2 * s)
    return r / max(half, 1.0)


def _add_noise(img: np.ndarray, rng: np.random.Generator, sigma: float, chroma: float = 0.35) -> np.ndarray:
    """Sensor-like noise: luma noise plus weaker per-channel noise, shot-noise weighted."""
    if sigma <= 0:
        return img.astype(np.float32)
    a = img.astype(np.float32)
    h, w = a.shape[:2]
    luma = rng.standard_normal((h, w, 1)).astype(np.float32)
    col = rng.standard_normal((h, w, 3)).astype(np.float32)
    weight = 0.6 + 0.4 * np.sqrt(np.clip(a, 0, 255) / 255.0)
    return a + sigma * weight * (luma + chroma * col)


@functools.lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, int(size)))


@functools.lru_cache(maxsize=64)
def _font_vietnamese(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans, which has every Vietnamese letter (Pillow's default font has none of the marked ones),
    from matplotlib's own copy: matplotlib is one of the service's dependencies."""
    import matplotlib

    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), max(6, int(size)))


#: The card's words as a CCCD prints them, with their diacritics (``vietnamese``): phrases first, then words.
_VIETNAMESE_PHRASES = {"CONG HOA XA HOI CHU NGHIA VIET NAM": "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                       "Doc lap - Tu do - Hanh phuc": "Độc lập - Tự do - Hạnh phúc",
                       "CAN CUOC CONG DAN": "CĂN CƯỚC CÔNG DÂN", "So / No.:": "Số / No.:",
                       "Ho va ten": "Họ và tên", "Ngay sinh": "Ngày sinh", "Gioi tinh": "Giới tính",
                       "Quoc tich": "Quốc tịch", "Que quan": "Quê quán", "Noi thuong tru": "Nơi thường trú",
                       "Co gia tri den": "Có giá trị đến", "Khong thoi han": "Không thời hạn",
                       "Viet Nam": "Việt Nam", "Dong Nai": "Đồng Nai", "Thanh Hoa": "Thanh Hóa",
                       "Ngo Quyen": "Ngô Quyền", "An Dong": "An Đồng",
                       "Hai Phong": "Hải Phòng", "Bien Hoa": "Biên Hòa"}
_VIETNAMESE_PAIRS = (
    "NGUYEN=NGUYỄN TRAN=TRẦN LE=LÊ PHAM=PHẠM HOANG=HOÀNG HUYNH=HUỲNH VU=VŨ VO=VÕ DANG=ĐẶNG BUI=BÙI DO=ĐỖ HO=HỒ "
    "NGO=NGÔ DUONG=DƯƠNG LY=LÝ VAN=VĂN DUC=ĐỨC QUOC=QUỐC HUU=HỮU THANH=THÀNH CONG=CÔNG XUAN=XUÂN THI=THỊ "
    "NGOC=NGỌC BICH=BÍCH HONG=HỒNG PHUONG=PHƯƠNG KHANH=KHÁNH BINH=BÌNH CUONG=CƯỜNG DUNG=DŨNG HAI=HẢI HIEU=HIẾU "
    "HUNG=HÙNG PHUC=PHÚC SON=SƠN THANG=THẮNG TUAN=TUẤN HA=HÀ HANH=HẠNH HUONG=HƯƠNG THAO=THẢO UYEN=UYÊN YEN=YẾN "
    "Nu=Nữ So=Số Ngo=Ngõ To=Tổ Phuong=Phường Xa=Xã Quan=Quận Dich=Dịch Vong=Vọng Cau=Cầu Giay=Giấy Ma=Mã "
    "Dinh=Đình Dong=Đông Hang=Hàng Bai=Bài Hoan=Hoàn Kiem=Kiếm Ha=Hà Noi=Nội Ho=Hồ Chi=Chí Tan=Tân Go=Gò "
    "Vap=Vấp Binh=Bình Tho=Thọ Thu=Thủ Duc=Đức Hai=Hải Lach=Lạch Duong=Dương Da=Đà Nang=Nẵng "
    "Chau=Châu Bac=Bắc Son=Sơn Tra=Trà Can=Cần Xuan=Xuân Khanh=Khánh Kieu=Kiều Le=Lê Cai=Cái Rang=Răng "
    "Hau=Hậu Loc=Lộc Quang=Quảng Xuong=Xương Ve=Vệ Nghe=Nghệ Dan=Đàn Hung=Hưng Thua=Thừa Thien=Thiên Hue=Huế "
    "Phu=Phú Hoi=Hội Huong=Hương Toan=Toàn Bien=Biên Nhon=Nhơn Trach=Trạch")
_VIETNAMESE_WORDS = {plain: marked for plain, marked in (pair.split("=") for pair in _VIETNAMESE_PAIRS.split())}


def vietnamese(text: str) -> str:
    """``text`` (the renderer's ASCII Vietnamese) with the diacritics a CCCD prints: known phrases and words
    are replaced, anything else is kept as it is."""
    for ascii_, marked in _VIETNAMESE_PHRASES.items():
        text = text.replace(ascii_, marked)
    return " ".join(_VIETNAMESE_WORDS.get(w.rstrip(","), w.rstrip(",")) + ("," if w.endswith(",") else "")
                    for w in text.split(" "))


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    fill: tuple[int, int, int],
    *,
    bold: bool = False,
    anchor: str = "la",
    max_width: float | None = None,
    marked: bool = False,
) -> tuple[int, int, int, int]:
    size0 = size
    font_of = _font_vietnamese if marked else _font
    if marked:
        text = vietnamese(text)
    font = font_of(size)
    stroke = max(1, int(round(size / 28))) if bold else 0
    if max_width is not None:  # shrink to fit (down to 70 %)
        while size > 7 and draw.textlength(text, font=font) + 2 * stroke > max_width and size > 0.7 * size0:
            size -= 1
            font = font_of(size)
    draw.text(xy, text, font=font, fill=fill, anchor=anchor, stroke_width=stroke, stroke_fill=fill)
    return draw.textbbox(xy, text, font=font, anchor=anchor, stroke_width=stroke)


# --------------------------------------------------------------------------- identity


_SURNAMES = ["NGUYEN", "TRAN", "LE", "PHAM", "HOANG", "HUYNH", "PHAN", "VU", "VO", "DANG", "BUI", "DO", "HO", "NGO", "DUONG", "LY"]
_MIDDLE_M = ["VAN", "DUC", "MINH", "QUOC", "HUU", "THANH", "CONG", "XUAN", "GIA", "TRUNG"]
_MIDDLE_F = ["THI", "NGOC", "THU", "KIM", "THANH", "MINH", "BICH", "HONG", "PHUONG", "KHANH"]
_GIVEN_M = ["AN", "BINH", "CUONG", "DUNG", "DUY", "HAI", "HIEU", "HUNG", "KHANG", "KHOA", "LONG", "NAM", "PHUC", "QUANG", "SON", "THANG", "TUAN", "VINH"]
_GIVEN_F = ["ANH", "CHI", "DUNG", "GIANG", "HA", "HANH", "HUONG", "LAN", "LINH", "MAI", "NGA", "NHUNG", "PHUONG", "THAO", "TRANG", "UYEN", "VY", "YEN"]
# (province code, origin / residence place names)
_PROVINCES = [
    ("001", "Ha Noi", ["Phuong Dich Vong, Cau Giay", "Phuong Kim Ma, Ba Dinh", "Xa Kim Chung, Dong Anh", "Phuong Hang Bai, Hoan Kiem"]),
    ("079", "TP Ho Chi Minh", ["Phuong 5, Quan 3", "Phuong Tan Dinh, Quan 1", "Phuong 12, Go Vap", "Phuong Binh Tho, Thu Duc"]),
    ("031", "Hai Phong", ["Phuong Lach Tray, Ngo Quyen", "Xa An Dong, An Duong"]),
    ("048", "Da Nang", ["Phuong Hai Chau 1, Hai Chau", "Phuong An Hai Bac, Son Tra"]),
    ("092", "Can Tho", ["Phuong Xuan Khanh, Ninh Kieu", "Phuong Le Binh, Cai Rang"]),
    ("036", "Nam Dinh", ["Xa Hai Hau, Hai Hau", "Phuong Loc Ha, TP Nam Dinh"]),
    ("038", "Thanh Hoa", ["Xa Quang Tho, Quang Xuong", "Phuong Dong Ve, TP Thanh Hoa"]),
    ("040", "Nghe An", ["Xa Nam Giang, Nam Dan", "Phuong Hung Binh, TP Vinh"]),
    ("046", "Thua Thien Hue", ["Phuong Phu Hoi, TP Hue", "Xa Huong Toan, Huong Tra"]),
    ("075", "Dong Nai", ["Phuong Tan Phong, Bien Hoa", "Xa Long Tho, Nhon Trach"]),
]


def _date(rng: np.random.Generator, y0: int, y1: int) -> tuple[int, int, int]:
    y = int(rng.integers(y0, y1 + 1))
    m = int(rng.integers(1, 13))
    d = int(rng.integers(1, 29))
    return d, m, y


def random_identity(rng: RngLike, *, name: str | None = None) -> dict[str, str]:
    """Random plausible card fields (ASCII, no diacritics)."""
    rng = _rng(rng)
    male = bool(rng.integers(0, 2))
    if name is None:
        sur = _SURNAMES[int(rng.integers(len(_SURNAMES)))]
        mid = (_MIDDLE_M if male else _MIDDLE_F)[int(rng.integers(len(_MIDDLE_M)))]
        giv = (_GIVEN_M if male else _GIVEN_F)[int(rng.integers(len(_GIVEN_M)))]
        name = f"{sur} {mid} {giv}"
    d, m, y = _date(rng, 1955, 2005)
    code, prov, places = _PROVINCES[int(rng.integers(len(_PROVINCES)))]
    code2, prov2, places2 = _PROVINCES[int(rng.integers(len(_PROVINCES)))]
    century = (0 if y < 2000 else 2) + (0 if male else 1)
    number = f"{code}{century}{y % 100:02d}{int(rng.integers(0, 1_000_000)):06d}"
    # CCCD validity: to age 25 / 40 / 60, or no expiry after 60.
    age_at_issue = 2021 - y
    expiry_age = next((a for a in (25, 40, 60) if a - age_at_issue >= 2), None)
    expiry = f"{d:02d}/{m:02d}/{y + expiry_age}" if expiry_age else "Khong thoi han"
    residence_place = places2[int(rng.integers(len(places2)))]
    house = f"So {int(rng.integers(1, 300))}, Ngo {int(rng.integers(1, 200))}" if rng.random() < 0.6 else f"To {int(rng.integers(1, 30))}"
    return {
        "number": number,
        "name": name.upper(),
        "dob": f"{d:02d}/{m:02d}/{y}",
        "sex": "Nam" if male else "Nu",
        "nationality": "Viet Nam",
        "origin": f"{places[int(rng.integers(len(places)))]}, {prov}",
        "residence": f"{house}, {residence_place}, {prov2}",
        "expiry": expiry,
    }


# --------------------------------------------------------------------------- the card


_PALETTES = [
    # (gradient start, gradient end, guilloche ink 1, guilloche ink 2)
    ((224, 240, 232), (246, 240, 222), (120, 178, 160), (214, 170, 120)),  # pale green -> beige
    ((226, 236, 246), (238, 244, 232), (118, 154, 196), (140, 186, 150)),  # pale blue -> green
    ((246, 238, 222), (228, 238, 242), (206, 160, 110), (120, 164, 190)),  # beige -> pale blue
    ((232, 242, 238), (244, 232, 230), (110, 170, 170), (206, 140, 140)),  # mint -> pale pink
]


def _guilloche_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Pale gradient with interlaced sinusoidal line families and a rosette, float32 RGB."""
    s = w / 1012.0
    c0, c1, ink1, ink2 = (np.array(c, np.float32) for c in _PALETTES[int(rng.integers(len(_PALETTES)))])
    jitter = rng.uniform(-6, 6, 3).astype(np.float32)
    t = (_linear_ramp(h, w, rng.uniform(-0.6, 0.6)) + 1) / 2
    t = np.clip(t + 0.12 * _smooth_noise(rng, h, w, (3, 4)), 0, 1)[:, :, None]
    bg = c0 * (1 - t) + c1 * t + jitter

    shift = 4  # sub-pixel bits for cv2.polylines
    sc = float(1 << shift)
    xs = np.arange(-8, w + 9, max(2.0, 3 * s), dtype=np.float32)

    def wave_family(ink: np.ndarray, alpha: float, spacing: float, lam: float, amp: float, phase: float, drift: float) -> None:
        lines = []
        lam2, amp2 = lam * rng.uniform(2.2, 3.4), amp * rng.uniform(0.3, 0.6)
        for i, y0 in enumerate(np.arange(-2 * amp, h + 2 * amp, spacing)):
            ys = (
                y0
                + amp * np.sin(2 * np.pi * xs / lam + phase + drift * i)
                + amp2 * np.sin(2 * np.pi * xs / lam2 + 0.7 * phase - 0.5 * drift * i)
            )
            lines.append(np.stack([xs, ys], 1) * sc)
        layer = np.zeros((h, w), np.uint8)
        cv2.polylines(layer, [np.rint(p).astype(np.int32) for p in lines], False, 255, 1, cv2.LINE_AA, shift)
        a = (layer.astype(np.float32) / 255.0 * alpha)[:, :, None]
        bg[:] = bg * (1 - a) + ink * a

    spacing = rng.uniform(7.0, 10.0) * s
    lam = rng.uniform(60, 110) * s
    amp = rng.uniform(6, 12) * s
    ph = rng.uniform(0, 2 * np.pi)
    wave_family(ink1, rng.uniform(0.28, 0.38), spacing, lam, amp, ph, rng.uniform(0.15, 0.3))
    wave_family(ink1, rng.uniform(0.20, 0.30), spacing, lam, amp, ph + np.pi, -rng.uniform(0.15, 0.3))
    wave_family(ink2, rng.uniform(0.14, 0.22), spacing * 2.3, lam * 1.7, amp * 1.8, rng.uniform(0, 6.3), 0.4)

    # Rosette (stands in for the bronze drum motif) behind the fields.
    cx, cy = w * rng.uniform(0.56, 0.66), h * rng.uniform(0.55, 0.65)
    r_max = h * rng.uniform(0.36, 0.44)
    n_lobes = int(rng.integers(18, 30))
    th = np.linspace(0, 2 * np.pi, 720, dtype=np.float32)
    rings = []
    for k, r0 in enumerate(np.arange(r_max * 0.15, r_max, 6.5 * s)):
        r = r0 + 0.06 * r_max * np.sin(n_lobes * th + 0.35 * k) * (r0 / r_max)
        rings.append(np.stack([cx + r * np.cos(th), cy + r * np.sin(th)], 1) * sc)
    layer = np.zeros((h, w), np.uint8)
    cv2.polylines(layer, [np.rint(p).astype(np.int32) for p in rings], True, 255, 1, cv2.LINE_AA, shift)
    layer = cv2.circle(layer, (int(cx), int(cy)), int(r_max * 0.12), 255, -1, cv2.LINE_AA)
    a = (layer.astype(np.float32) / 255.0 * rng.uniform(0.14, 0.22))[:, :, None]
    bg = bg * (1 - a) + ink2 * a
    # Faint paper / print grain.
    bg += rng.normal(0, 1.2, (h, w, 1)).astype(np.float32)
    return bg


def _star(cx: float, cy: float, r: float, rot: float = -np.pi / 2) -> np.ndarray:
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.4
        a = rot + i * np.pi / 5
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return np.array(pts, np.float32)


def _draw_emblem(card: np.ndarray, cx: float, cy: float, r: float) -> None:
    """A national emblem placeholder: gold ring, red disc, yellow star, cog and rice hints."""
    sh = 4
    sc = 1 << sh

    def P(x: float, y: float) -> tuple[int, int]:
        return int(round(x * sc)), int(round(y * sc))

    gold, red, dark_red, yellow = (216, 170, 48), (206, 30, 36), (150, 20, 26), (250, 214, 40)
    cv2.circle(card, P(cx, cy), int(r * sc), gold, -1, cv2.LINE_AA, sh)
    # Rice-ear ring: short radial ticks around the rim.
    for k in range(44):
        a = 2 * np.pi * k / 44
        p1 = P(cx + 0.84 * r * math.cos(a), cy + 0.84 * r * math.sin(a))
        p2 = P(cx + 0.98 * r * math.cos(a + 0.05), cy + 0.98 * r * math.sin(a + 0.05))
        cv2.line(card, p1, p2, (176, 128, 30), max(1, int(r / 40)), cv2.LINE_AA, sh)
    cv2.circle(card, P(cx, cy), int(0.78 * r * sc), dark_red, -1, cv2.LINE_AA, sh)
    cv2.circle(card, P(cx, cy), int(0.72 * r * sc), red, -1, cv2.LINE_AA, sh)
    star = np.rint(_star(cx, cy - 0.08 * r, 0.46 * r) * sc).astype(np.int32)
    cv2.fillPoly(card, [star], yellow, cv2.LINE_AA, sh)
    # Cog (half wheel) at the bottom.
    cv2.ellipse(card, P(cx, cy + 0.52 * r), (int(0.3 * r * sc), int(0.14 * r * sc)), 0, 180, 360, yellow, -1, cv2.LINE_AA, sh)
    for k in range(7):
        a = np.pi + np.pi * (k + 0.5) / 7
        x = cx + 0.34 * r * math.cos(a)
        y = cy + 0.52 * r + 0.17 * r * math.sin(a)
        cv2.circle(card, P(x, y), int(0.035 * r * sc) + 1, yellow, -1, cv2.LINE_AA, sh)


def _draw_ghost(card: np.ndarray, bg: np.ndarray, portrait: np.ndarray, rng: np.random.Generator) -> None:
    """A smaller, faded second print of ``portrait`` (float RGB) at the card's lower right, in place."""
    h, w = card.shape[:2]
    gw = int(round(portrait.shape[1] * rng.uniform(0.38, 0.46)))
    gh = int(round(gw / PORTRAIT_ASPECT))
    x2 = w - int(round(w * rng.uniform(0.03, 0.05)))
    y2 = h - int(round(h * rng.uniform(0.05, 0.09)))
    x1, y1 = x2 - gw, y2 - gh
    small = _resize(_u8(portrait), (gw, gh)).astype(np.float32)
    if rng.random() < 0.6:
        small = np.repeat(small @ np.array([[0.299], [0.587], [0.114]], np.float32), 3, axis=2)
    else:  # washed-out colour
        small = 0.5 * small + 0.5 * small.mean(axis=2, keepdims=True)
    ink = rng.uniform(0.45, 0.75)
    card[y1:y2, x1:x2] = _u8(ink * small + (1 - ink) * bg[y1:y2, x1:x2])


def _draw_qr(card: np.ndarray, x: int, y: int, size: int, rng: np.random.Generator) -> None:
    """A QR-code-looking block (random modules with finder patterns); decodes to nothing."""
    n = 29
    mod = rng.random((n, n)) < 0.5
    for fx, fy in ((0, 0), (n - 7, 0), (0, n - 7)):
        mod[fy : fy + 8 if fy == 0 else fy + 7, fx : fx + 8 if fx == 0 else fx + 7] = False
        mod[fy : fy + 7, fx : fx + 7] = True
        mod[fy + 1 : fy + 6, fx + 1 : fx + 6] = False
        mod[fy + 2 : fy + 5, fx + 2 : fx + 5] = True
    quiet = 2
    full = np.zeros((n + 2 * quiet, n + 2 * quiet), bool)
    full[quiet:-quiet, quiet:-quiet] = mod
    img = np.where(full, 20, 250).astype(np.uint8)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    card[y : y + size, x : x + size] = img[:, :, None]


def render_card(
    face: np.ndarray,
    rng: RngLike,
    *,
    width: int = 1012,
    name: str | None = None,
    ghost: bool = False,
    marked: bool = False,
) -> tuple[np.ndarray, Box]:
    """Render the front side of a CCCD-like card with ``face`` as its portrait.

    With ``marked``, the text is printed with its Vietnamese diacritics, as a CCCD prints it ("CỘNG HÒA XÃ
    HỘI CHỦ NGHĨA VIỆT NAM", "NGUYỄN VĂN ĐỨC"), in DejaVu Sans (``vietnamese``); else in plain ASCII in
    Pillow's default font. The same ``rng`` gives the same card either way, but for the letters.

    With ``ghost``, the card also prints a smaller, faded second copy of the
    portrait at its lower right (the "ghost" image of ICAO 9303 documents and
    many ID cards; the CCCD prints none): 38-46 % of the portrait's width, in
    grey (60 %) or washed-out colour, 45-75 % ink over the background, the
    text printed over it. ``ghost`` leaves the rest of the card as it is
    without it (same ``rng``, same card).

    The card is ``width`` x ``card_height(width)`` pixels (85.6 x 53.98 mm).  The
    face image is centre-cropped to 3:4 and printed on the left, 23-25 % of the
    card width wide, in the lower-middle of the card.

    Returns ``(card, box)`` where ``box = (x1, y1, x2, y2)`` is the portrait in
    card pixels, end-exclusive: ``card[y1:y2, x1:x2]`` is the portrait.
    """
    rng = _rng(rng)
    w = int(width)
    if w < 64:
        raise ValueError("card width must be at least 64 pixels")
    h = card_height(w)
    s = w / 1012.0
    ident = random_identity(rng, name=name)

    bg = _guilloche_background(h, w, rng)
    card = _u8(bg)

    # Portrait geometry (decided first: the layout is built around it).
    pw = int(round(w * rng.uniform(0.23, 0.25)))
    ph = int(round(pw / PORTRAIT_ASPECT))
    px1 = int(round(w * rng.uniform(0.028, 0.04)))
    py1 = int(round(h * rng.uniform(0.345, 0.37)))
    py1 = min(py1, h - ph - int(0.09 * h))
    px2, py2 = px1 + pw, py1 + ph

    portrait = crop_to_aspect(_as_rgb_u8(face), PORTRAIT_ASPECT)
    portrait = _resize(portrait, (pw, ph)).astype(np.float32)
    # Printed on the card: a touch of the background shows through, slightly lower contrast.
    portrait = 0.93 * portrait + 0.07 * bg[py1:py2, px1:px2] + rng.uniform(-4, 4)
    card[py1:py2, px1:px2] = _u8(portrait)

    if ghost:
        _draw_ghost(card, bg, portrait, rng.spawn(1)[0])  # a child stream: the main one is not advanced

    emblem_r = 0.068 * w
    _draw_emblem(card, px1 + pw / 2, 0.045 * h + emblem_r, emblem_r)
    qr = int(round(0.135 * w))
    _draw_qr(card, w - qr - int(0.035 * w), int(0.04 * h), qr, rng)

    pil = Image.fromarray(card)
    d = ImageDraw.Draw(pil)
    put = functools.partial(_text, marked=marked)
    hx = (px2 + (w - qr - 0.035 * w)) / 2  # header centred between portrait column and QR
    f = lambda v: max(7, int(round(v * s)))  # noqa: E731 - font size in card pixels

    put(d, (hx, 0.045 * h), "CONG HOA XA HOI CHU NGHIA VIET NAM", f(25), _DARK, bold=True, anchor="mt")
    bb = put(d, (hx, 0.045 * h + 34 * s), "Doc lap - Tu do - Hanh phuc", f(23), _DARK, bold=True, anchor="mt")
    d.line([(bb[0] + 4 * s, bb[3] + 4 * s), (bb[2] - 4 * s, bb[3] + 4 * s)], fill=_DARK, width=max(1, int(2 * s)))
    ty = 0.045 * h + 78 * s
    bb = put(d, (hx, ty), "CAN CUOC CONG DAN", f(40), _RED, bold=True, anchor="mt")
    bb = put(d, (hx, bb[3] + 6 * s), "CITIZEN IDENTITY CARD", f(21), _RED, bold=True, anchor="mt")

    fx = px2 + 0.028 * w  # field column
    ny = bb[3] + 14 * s
    lb = put(d, (fx, ny + 10 * s), "So / No.:", f(20), _LABEL)
    put(d, (lb[2] + 12 * s, ny), ident["number"], f(34), (20, 20, 20), bold=True)

    lab, val = f(18), f(22)
    y = max(ny + 52 * s, py1 + 6 * s)
    step = 32 * s
    put(d, (fx, y), "Ho va ten / Full name:", lab, _LABEL)
    y += step - 4 * s
    put(d, (fx, y), ident["name"], f(29), (16, 16, 16), bold=True, max_width=w - fx - 0.03 * w)
    y += step + 12 * s
    lb = put(d, (fx, y), "Ngay sinh / Date of birth:", lab, _LABEL)
    put(d, (lb[2] + 10 * s, y - 3 * s), ident["dob"], val, (16, 16, 16), bold=True)
    y += step + 4 * s
    lb = put(d, (fx, y), "Gioi tinh / Sex:", lab, _LABEL)
    put(d, (lb[2] + 10 * s, y - 3 * s), ident["sex"], val, (16, 16, 16), bold=True)
    lb = put(d, (fx + 0.30 * w, y), "Quoc tich / Nationality:", lab, _LABEL)
    put(d, (lb[2] + 10 * s, y - 3 * s), ident["nationality"], val, (16, 16, 16), bold=True)
    y += step + 4 * s
    put(d, (fx, y), "Que quan / Place of origin:", lab, _LABEL)
    y += step - 4 * s
    put(d, (fx, y), ident["origin"], val, (16, 16, 16), bold=True, max_width=w - fx - 0.03 * w)
    y += step + 6 * s
    lb = put(d, (fx, y), "Noi thuong tru / Place of residence:", lab, _LABEL)
    y += step - 4 * s
    put(d, (fx, y), ident["residence"], val, (16, 16, 16), bold=True, max_width=w - fx - 0.03 * w)

    # Expiry under the portrait, as on the card.
    ey = py2 + 0.018 * h
    lb = put(d, (px1, ey), "Co gia tri den:", f(15), _LABEL)
    put(d, (lb[2] + 6 * s, ey - 1 * s), ident["expiry"], f(17), (16, 16, 16), bold=True)
    put(d, (px1, ey + 19 * s), "Date of expiry", f(15), _LABEL)

    card = np.asarray(pil, dtype=np.uint8).copy()
    return card, (px1, py1, px2, py2)


# --------------------------------------------------------------------------- the phone photo


_TABLES = [
    (148, 108, 72),  # wood
    (112, 80, 56),  # dark wood
    (196, 192, 184),  # light desk
    (120, 122, 128),  # grey desk
    (58, 56, 60),  # black desk
    (72, 92, 122),  # blue cloth
    (214, 206, 188),  # beige paper
]


def _table_background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    base = np.array(_TABLES[int(rng.integers(len(_TABLES)))], np.float32) + rng.uniform(-14, 14, 3).astype(np.float32)
    lo = _smooth_noise(rng, h, w, (rng.integers(3, 7), rng.integers(4, 9)))
    if rng.random() < 0.6:  # grain / weave streaks along one direction
        if rng.random() < 0.5:
            grain = _smooth_noise(rng, h, w, (int(h / rng.uniform(3, 8)), rng.integers(3, 8)))
        else:
            grain = _smooth_noise(rng, h, w, (rng.integers(3, 8), int(w / rng.uniform(3, 8))))
        amp = rng.uniform(0.03, 0.09)
    else:
        grain = _smooth_noise(rng, h, w, (h // 4, w // 4))
        amp = rng.uniform(0.02, 0.05)
    fine = rng.standard_normal((h, w)).astype(np.float32)
    tex = 1 + 0.07 * lo + amp * grain + 0.015 * fine
    return base * tex[:, :, None]


def _rounded_mask(h: int, w: int, radius: float) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    r = max(1, int(round(radius)))
    cv2.rectangle(m, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(m, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(m, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return m


def map_box(box: Box, homography: np.ndarray) -> Box:
    """Axis-aligned bounding box of ``box`` carried through a 3x3 ``homography``."""
    x1, y1, x2, y2 = box
    pts = np.array([[[x1, y1]], [[x2, y1]], [[x2, y2]], [[x1, y2]]], np.float64)
    q = cv2.perspectiveTransform(pts, np.asarray(homography, np.float64))[:, 0]
    return (
        int(math.floor(q[:, 0].min())),
        int(math.floor(q[:, 1].min())),
        int(math.ceil(q[:, 0].max())),
        int(math.ceil(q[:, 1].max())),
    )


def photograph_with_homography(
    card: np.ndarray,
    rng: RngLike,
    *,
    out_size: tuple[int, int] = (1600, 1200),
    strength: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`photograph`, also returning the 3x3 homography card px -> photo px."""
    rng = _rng(rng)
    card = _as_rgb_u8(card)
    W, H = int(out_size[0]), int(out_size[1])
    st = max(0.0, float(strength))
    ch, cw = card.shape[:2]

    # Destination quadrilateral.
    tw = W * rng.uniform(0.55, 0.80)
    th = tw * ch / cw
    if th > 0.8 * H:  # tall outputs: keep the card inside
        th = 0.8 * H
        tw = th * cw / ch
    cx = W / 2 + rng.uniform(-1, 1) * 0.5 * max(0.0, (W - tw) / 2)
    cy = H / 2 + rng.uniform(-1, 1) * 0.5 * max(0.0, (H - th) / 2)
    ang = math.radians(rng.uniform(-4, 4) * st)
    ca, sa = math.cos(ang), math.sin(ang)
    rect = np.array([[-tw / 2, -th / 2], [tw / 2, -th / 2], [tw / 2, th / 2], [-tw / 2, th / 2]])
    dst = np.stack([rect[:, 0] * ca - rect[:, 1] * sa, rect[:, 0] * sa + rect[:, 1] * ca], 1)
    dst += rng.uniform(-1, 1, (4, 2)) * 0.06 * st * np.array([tw, th])
    dst += [cx, cy]
    margin = 0.02 * min(W, H)
    lo, hi = dst.min(0), dst.max(0)
    f = min(1.0, (W - 2 * margin) / (hi[0] - lo[0]), (H - 2 * margin) / (hi[1] - lo[1]))
    mid = (lo + hi) / 2
    dst = mid + (dst - mid) * f
    lo, hi = dst.min(0), dst.max(0)
    dst += np.maximum(0, margin - lo) - np.maximum(0, hi - (np.array([W, H]) - margin))
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float64)
    Hm = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32)).astype(np.float64)

    # Pre-shrink large cards so the bilinear warp does not alias.
    scale = math.sqrt(abs(np.linalg.det(Hm[:2, :2]))) if abs(Hm[2, 2]) > 1e-9 else 1.0
    src_img = card
    alpha = _rounded_mask(ch, cw, 0.037 * cw)
    pre = np.eye(3)
    if scale < 0.75:
        k = scale * 1.25
        sz = (max(2, int(round(cw * k))), max(2, int(round(ch * k))))
        src_img = cv2.resize(card, sz, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, sz, interpolation=cv2.INTER_AREA)
        pre = np.diag([sz[0] / cw, sz[1] / ch, 1.0])
    Hw = Hm @ np.linalg.inv(pre)
    warped = cv2.warpPerspective(src_img, Hw, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    m = cv2.warpPerspective(alpha, Hw, (W, H), flags=cv2.INTER_LINEAR).astype(np.float32) / 255.0

    bg = _table_background(H, W, rng)
    # Soft contact shadow, offset away from a virtual light.
    off = rng.uniform(-1, 1, 2) * 0.012 * W
    sm = cv2.warpAffine(m, np.float32([[1, 0, off[0]], [0, 1, off[1]]]), (W, H))
    sm = _blur(sm, 0.012 * W + 2)
    bg *= (1 - rng.uniform(0.2, 0.45) * sm)[:, :, None]
    m3 = m[:, :, None]
    out = bg * (1 - m3) + warped.astype(np.float32) * m3

    # Uneven illumination: a smooth gradient, a vignette and a colour temperature shift.
    grad = _linear_ramp(H, W, rng.uniform(0, 2 * np.pi))
    yy, xx = _grid(H, W)
    r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
    gain = 1 + rng.uniform(0.05, 0.2) * st * grad - rng.uniform(0.0, 0.15) * st * r2 / 2
    gain += 0.04 * st * _smooth_noise(rng, H, W, (3, 4))
    tint = 1 + rng.uniform(-0.06, 0.06, 3).astype(np.float32) * st
    exposure = rng.uniform(0.9, 1.08)
    out = out * (gain[:, :, None] * tint * exposure)

    # Specular glare: a soft elliptical blob somewhere on the card.
    if st > 0 and rng.random() < 0.6:
        gx, gy = lo + rng.uniform(0.1, 0.9, 2) * (hi - lo)
        ax = rng.uniform(0.04, 0.14) * W
        ay = ax * rng.uniform(0.3, 0.8)
        ga = rng.uniform(0, np.pi)
        u = ((xx - gx) * math.cos(ga) + (yy - gy) * math.sin(ga)) / ax
        v = (-(xx - gx) * math.sin(ga) + (yy - gy) * math.cos(ga)) / ay
        g = np.exp(-0.5 * (u * u + v * v) ** 1.3) * rng.uniform(0.35, 0.85) * min(1.0, st)
        g *= m  # only the glossy card reflects
        out = 255 - (255 - np.clip(out, 0, 255)) * (1 - g[:, :, None])

    out = _blur(np.clip(out, 0, 255).astype(np.float32), rng.uniform(0, 1.2) * st)
    out = _add_noise(out, rng, rng.uniform(1.0, 4.0) * st)
    out = _jpeg(_u8(out), int(rng.integers(60, 93)))
    return out, Hm


def photograph(
    card: np.ndarray,
    rng: RngLike,
    *,
    out_size: tuple[int, int] = (1600, 1200),
    strength: float = 1.0,
) -> np.ndarray:
    """A virtual phone photo of ``card`` lying on a table, ``out_size = (W, H)``.

    Random textured table, the card 55-80 % of the image width (less if needed
    to fit), small rotation, perspective corner jitter up to 6 % of the card
    size x ``strength``, rounded card corners with a soft shadow, uneven
    illumination, an optional specular glare, Gaussian blur (sigma up to
    1.2 x ``strength``), sensor noise and JPEG (quality 60-92).
    """
    return photograph_with_homography(card, rng, out_size=out_size, strength=strength)[0]


# --------------------------------------------------------------------------- photocopy


def photocopy(card: np.ndarray, rng: RngLike) -> np.ndarray:
    """Greyscale print-and-scan of ``card``: contrast crushed, toner speckle, dither texture, blur.

    Returns a 3-channel image whose channels are identical.
    """
    rng = _rng(rng)
    g = cv2.cvtColor(_as_rgb_u8(card), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    h, w = g.shape
    # Levels: the pale background washes out to paper white, darks go to toner black.
    lo, hi = rng.uniform(0.12, 0.24), rng.uniform(0.72, 0.84)
    g = np.clip((g - lo) / (hi - lo), 0, 1)
    g = g ** rng.uniform(1.15, 1.6)
    # Clustered-dot dither texture in the mid-tones.
    yy, xx = _grid(h, w)
    period = rng.uniform(3.0, 4.5)
    a = math.radians(rng.uniform(30, 60))
    u = (xx * math.cos(a) + yy * math.sin(a)) * (2 * np.pi / period)
    v = (-xx * math.sin(a) + yy * math.cos(a)) * (2 * np.pi / period)
    screen = 0.5 + 0.25 * (np.cos(u) + np.cos(v))
    dots = np.clip((g - screen) * 4 + 0.5, 0, 1)
    mid = 4 * g * (1 - g)
    beta = rng.uniform(0.25, 0.5)
    g = g * (1 - beta * mid) + dots * beta * mid
    # Uneven toner density across the page, a faint drum streak.
    g = g * (1 + 0.04 * _smooth_noise(rng, h, w, (3, 3)))
    if rng.random() < 0.5:
        sx = int(rng.integers(0, w))
        streak = np.exp(-0.5 * ((xx - sx) / rng.uniform(1.0, 3.0)) ** 2) * rng.uniform(0.05, 0.2)
        g = g - streak
    # Toner speckle (dark specks) and a few drop-outs.
    n = int(h * w * rng.uniform(3e-4, 1e-3))
    spk = np.zeros((h, w), np.float32)
    spk[rng.integers(0, h, n), rng.integers(0, w, n)] = rng.uniform(0.5, 1.0, n).astype(np.float32)
    spk = np.clip(_blur(spk, 0.6) * 4, 0, 1)
    g = g * (1 - spk)
    n2 = n // 4
    drop = np.zeros((h, w), np.float32)
    drop[rng.integers(0, h, n2), rng.integers(0, w, n2)] = 1.0
    g = np.maximum(g, np.clip(_blur(drop, 0.7) * 3, 0, 1) * 0.8)
    # Paper white and toner black, scanner blur and noise.
    black, white = rng.uniform(12, 32), rng.uniform(236, 250)
    g = black + (white - black) * np.clip(g, 0, 1)
    g = _blur(g, rng.uniform(0.5, 0.9))
    g = g + rng.normal(0, rng.uniform(1.0, 3.0), (h, w)).astype(np.float32)
    g8 = _u8(g)
    return np.repeat(g8[:, :, None], 3, axis=2)


# --------------------------------------------------------------------------- tampering


def swap_portrait(card: np.ndarray, box: Box, other_face: np.ndarray, rng: RngLike) -> np.ndarray:
    """Paste ``other_face`` over the portrait ``box`` of ``card`` (a tampered card).

    The pasted face has its own JPEG history (compressed at quality 30-75 on a
    shifted 8x8 grid), a different sharpness, noise level and colour balance,
    and the box may be misaligned by a few pixels.
    """
    rng = _rng(rng)
    out = _as_rgb_u8(card).copy()
    ch, cw = out.shape[:2]
    x1, y1, x2, y2 = (int(v) for v in box)
    mis = max(1, int(round(0.004 * cw)))
    x1 += int(rng.integers(-mis, mis + 1))
    y1 += int(rng.integers(-mis, mis + 1))
    x2 += int(rng.integers(-mis, mis + 1))
    y2 += int(rng.integers(-mis, mis + 1))
    x1, y1 = max(0, x1), max(0, y1)
    x2, y2 = min(cw, x2), min(ch, y2)
    if x2 - x1 < 4 or y2 - y1 < 4:
        raise ValueError(f"portrait box {box} is too small or outside the card")
    bw, bh = x2 - x1, y2 - y1

    face = crop_to_aspect(_as_rgb_u8(other_face), bw / bh)
    # A different resolution history: resized via an intermediate size.
    k = rng.uniform(0.6, 1.4)
    mid = _resize(face, (max(8, int(bw * k)), max(8, int(bh * k))))
    ox, oy = (int(v) for v in rng.integers(1, 8, 2))
    padded = cv2.copyMakeBorder(mid, oy, 0, ox, 0, cv2.BORDER_REFLECT)
    mid = _jpeg(padded, int(rng.integers(30, 76)))[oy:, ox:]
    f = _resize(mid, (bw, bh)).astype(np.float32)
    # Colour balance and brightness unlike the printed card.
    f = f * rng.uniform(0.88, 1.12, 3).astype(np.float32) + rng.uniform(-12, 12)
    if rng.random() < 0.5:  # softer
        f = _blur(f, rng.uniform(0.8, 1.8))
    else:  # over-sharpened
        amt = rng.uniform(0.6, 1.5)
        f = f * (1 + amt) - _blur(f, rng.uniform(1.0, 2.0)) * amt
    f = _add_noise(f, rng, rng.uniform(2.0, 7.0), chroma=0.8)
    out[y1:y2, x1:x2] = _u8(f)
    return out


# --------------------------------------------------------------------------- presentation attacks


def screen_recapture(image: np.ndarray, rng: RngLike) -> np.ndarray:
    """``image`` shown on a virtual LCD and photographed; same size as the input.

    The image is upsampled 3x onto an RGB stripe sub-pixel grid (with a dark
    row gap), resampled onto a slightly rotated and scaled camera grid (which
    aliases into moire), framed by a dark bezel on some edges, then given a
    glare gradient, a gamma shift, noise and JPEG.
    """
    rng = _rng(rng)
    img = _as_rgb_u8(image)
    h, w = img.shape[:2]
    u = 3
    up = np.repeat(np.repeat(img, u, axis=0), u, axis=1)
    # RGB stripes: column c % 3 lights channel c % 3 only; every third row is the black matrix.
    for c in range(3):
        for other in range(3):
            if other != c:
                up[:, other::3, c] = 0
    gap = rng.uniform(0.3, 0.6)
    up[2::3] = (up[2::3].astype(np.float32) * gap).astype(np.uint8)
    up = _blur(up, rng.uniform(0.6, 0.9))  # lens + demosaicing, short of averaging sub-pixels out

    s_c = rng.uniform(0.84, 0.95)  # the displayed content covers this fraction of the frame
    ang = math.radians(rng.uniform(0.6, 2.5) * (1 if rng.random() < 0.5 else -1))
    shift = rng.uniform(-1, 1, 2) * (1 - s_c) * np.array([w, h]) * 0.9
    # dst (x, y) -> src in the upsampled image.
    ca, sa = math.cos(ang), math.sin(ang)
    A = np.array([[ca, sa], [-sa, ca]]) * (u / s_c)
    c_out = np.array([w / 2 + shift[0], h / 2 + shift[1]])
    c_in = np.array([u * w / 2, u * h / 2])
    t = c_in - A @ c_out
    M = np.hstack([A, t[:, None]]).astype(np.float32)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    shown = cv2.warpAffine(up, M, (w, h), flags=flags, borderMode=cv2.BORDER_CONSTANT).astype(np.float32)
    mask = cv2.warpAffine(np.full(up.shape[:2], 255, np.uint8), M, (w, h), flags=flags).astype(np.float32) / 255.0
    del up
    inside = mask > 0.99
    ref = img.reshape(-1, 3).mean(0) + 1.0
    got = shown[inside].mean(0) + 1.0 if inside.any() else ref
    gain = np.clip(ref / got, 1.0, 6.0) * rng.uniform(0.92, 1.1)
    shown = shown * gain.astype(np.float32) + rng.uniform(4, 14)  # LCD black level
    # Bezel: dark plastic with a soft sheen.
    bezel = rng.uniform(10, 32) * (1 + 0.3 * _linear_ramp(h, w, rng.uniform(0, 2 * np.pi)))
    bezel = bezel[:, :, None] * np.array([1.0, 1.0, rng.uniform(1.0, 1.15)], np.float32)
    m3 = mask[:, :, None]
    out = shown * m3 + bezel * (1 - m3)
    # Glare gradient across the glass, gamma shift.
    glare = np.clip(_linear_ramp(h, w, rng.uniform(0, 2 * np.pi)) * 0.5 + rng.uniform(-0.1, 0.3), 0, 1)
    out = out + (glare * rng.uniform(15, 60))[:, :, None]
    out = 255 * (np.clip(out, 0, 255) / 255) ** rng.uniform(0.8, 1.25)
    out = _blur(out.astype(np.float32), rng.uniform(0.0, 0.5))
    out = _add_noise(out, rng, rng.uniform(1.5, 4.0))
    return _jpeg(_u8(out), int(rng.integers(70, 93)))


def print_recapture(image: np.ndarray, rng: RngLike) -> np.ndarray:
    """``image`` printed (rotated CMY dot screens) on paper and photographed; same size."""
    rng = _rng(rng)
    img = _as_rgb_u8(image).astype(np.float32) / 255.0
    h, w = img.shape[:2]
    yy, xx = _grid(h, w)
    period = rng.uniform(3.0, 5.0)
    base = rng.uniform(0, 90)
    ink = 1 - img  # cyan, magenta, yellow coverage from R, G, B
    dots = np.empty_like(ink)
    for c, ang_deg in enumerate((15.0, 75.0, 0.0)):
        a = math.radians(base + ang_deg)
        uu = (xx * math.cos(a) + yy * math.sin(a)) * (2 * np.pi / period)
        vv = (-xx * math.sin(a) + yy * math.cos(a)) * (2 * np.pi / period)
        screen = 0.5 + 0.25 * (np.cos(uu) * np.cos(vv) * 2)  # clustered dots, in [0, 1]
        dots[:, :, c] = np.clip((ink[:, :, c] - (1 - screen)) * 3 + 0.5, 0, 1)
    beta = rng.uniform(0.5, 0.8)
    ink = (1 - beta) * ink + beta * dots
    # Paper: off-white with fibre texture; the ink never reaches full black.
    paper = np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.9, 0.98)], np.float32) * rng.uniform(0.9, 0.98)
    fibre = 0.025 * _smooth_noise(rng, h, w, (h // 3, w // 12)) + 0.01 * rng.standard_normal((h, w)).astype(np.float32)
    dmax = rng.uniform(0.78, 0.9)
    out = paper * (1 - dmax * ink) * (1 + fibre[:, :, None])
    cast = 1 + rng.uniform(-0.06, 0.06, 3).astype(np.float32)
    light = 1 + rng.uniform(0.03, 0.12) * _linear_ramp(h, w, rng.uniform(0, 2 * np.pi))
    out = out * cast * light[:, :, None] * 255
    out = _blur(out.astype(np.float32), rng.uniform(0.5, 1.0))
    out = _add_noise(out, rng, rng.uniform(1.0, 3.5))
    return _jpeg(_u8(out), int(rng.integers(70, 91)))


# --------------------------------------------------------------------------- selfie


_WALLS = [
    (214, 204, 186),  # beige wall
    (196, 200, 204),  # grey
    (226, 222, 214),  # off-white
    (180, 196, 206),  # pale blue
    (170, 150, 126),  # warm brown
]


def _indoor_background(h: int, w: int, rng: np.random.Generator, hint: np.ndarray | None = None) -> np.ndarray:
    """Blurred indoor scene: a wall gradient with a few soft out-of-focus objects.

    ``hint`` (an RGB colour) pulls the wall colour towards the subject's own backdrop.
    """
    c0 = np.array(_WALLS[int(rng.integers(len(_WALLS)))], np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
    if hint is not None:
        c0 = 0.5 * c0 + 0.5 * np.asarray(hint, np.float32)
    c1 = c0 * rng.uniform(0.6, 0.9) + rng.uniform(-8, 8, 3).astype(np.float32)
    t = ((_linear_ramp(h, w, rng.uniform(0, 2 * np.pi)) + 1) / 2)[:, :, None]
    bg = c0 * (1 - t) + c1 * t
    bg = bg * (1 + 0.08 * _smooth_noise(rng, h, w, (4, 5)))[:, :, None]
    bg = bg * (1 + 0.03 * _smooth_noise(rng, h, w, (3, 4), channels=3))
    # A few out-of-focus objects (door frame, shelf, window, lamp) in muted colours.
    layer = bg.copy()
    for _ in range(int(rng.integers(2, 6))):
        col = c0 * rng.uniform(0.35, 1.2) + rng.uniform(-25, 25, 3)
        x1, y1 = int(rng.uniform(-0.1, 0.9) * w), int(rng.uniform(-0.1, 0.9) * h)
        x2, y2 = x1 + int(rng.uniform(0.08, 0.5) * w), y1 + int(rng.uniform(0.08, 0.7) * h)
        if rng.random() < 0.7:
            cv2.rectangle(layer, (x1, y1), (x2, y2), np.clip(col, 0, 255).tolist(), -1)
        else:
            box = (((x1 + x2) / 2, (y1 + y2) / 2), (float(x2 - x1), float(y2 - y1)), 0.0)
            cv2.ellipse(layer, box, np.clip(col, 0, 255).tolist(), -1)
    bg = 0.5 * bg + 0.5 * layer
    return _blur(bg, 0.02 * max(h, w) + 4)


def render_portrait_selfie(
    face: np.ndarray,
    rng: RngLike,
    *,
    out_size: tuple[int, int] = (1280, 960),
    face_box: Box | None = None,
    face_frac: float = 0.42,
) -> np.ndarray:
    """A selfie-like photo of ``face`` (a head-and-shoulders image), ``out_size = (W, H)``.

    The face (``face_box`` in input pixels if given, else assumed centred and
    ``face_frac`` of the input height tall - about right for LFW crops) is
    scaled to 35-50 % of the output height and placed near the centre, the
    input fading softly into a blurred indoor background; then a light
    gradient, noise and JPEG.
    """
    rng = _rng(rng)
    img = _as_rgb_u8(face)
    h, w = img.shape[:2]
    W, H = int(out_size[0]), int(out_size[1])
    if face_box is None:
        fh = face_frac * h
        fcx, fcy = w / 2, h / 2
    else:
        bx1, by1, bx2, by2 = face_box
        fh = max(1.0, by2 - by1)
        fcx, fcy = (bx1 + bx2) / 2, (by1 + by2) / 2
    scale = rng.uniform(0.35, 0.5) * H / fh
    tx = W / 2 + rng.uniform(-0.08, 0.08) * W
    ty = H * rng.uniform(0.40, 0.50)
    ang = math.radians(rng.uniform(-5, 5))
    ca, sa = math.cos(ang) * scale, math.sin(ang) * scale
    M = np.float32([[ca, -sa, tx - (ca * fcx - sa * fcy)], [sa, ca, ty - (sa * fcx + ca * fcy)]])

    # The body goes on below the frame: extend the image downwards with a blurred reflection.
    ext = h // 2
    src = cv2.copyMakeBorder(img, 0, ext, 0, 0, cv2.BORDER_REFLECT)
    soft = _blur(src[h:], 0.02 * w + 2).astype(np.float32)
    ramp = np.clip(np.arange(ext, dtype=np.float32) / max(1.0, 0.15 * ext), 0, 1)[:, None, None]
    src[h:] = _u8(src[h:] * (1 - ramp) + soft * ramp)
    if scale < 0.8:  # shrink first
        k = scale * 1.25
        src = cv2.resize(src, (max(2, int(w * k)), max(2, int((h + ext) * k))), interpolation=cv2.INTER_AREA)
        M = (M @ np.diag([1 / k, 1 / k, 1.0])).astype(np.float32)
    sh, sw = src.shape[:2]
    # Feathered mask: fades out towards the left, right and top edges; runs on at the bottom.
    feather = 0.12
    yy, xx = _grid(sh, sw)
    ex = np.minimum(xx / (feather * sw), (sw - 1 - xx) / (feather * sw))
    ey = yy / (feather * sh * h / (h + ext))
    e = np.clip(np.minimum(ex, ey), 0, 1)
    alpha = (e * e * (3 - 2 * e) * 255).astype(np.uint8)
    warped = cv2.warpAffine(src, M, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    a = cv2.warpAffine(alpha, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    a = a.astype(np.float32)[:, :, None] / 255.0

    border = np.concatenate([img[: max(1, h // 10)].reshape(-1, 3), img[:, : max(1, w // 10)].reshape(-1, 3), img[:, -max(1, w // 10) :].reshape(-1, 3)])
    bg = _indoor_background(H, W, rng, hint=border.mean(0))
    # Tie the background colours to the image a little.
    bg = 0.8 * bg + 0.2 * _blur(warped, 0.05 * max(W, H))
    out = warped * a + bg * (1 - a)
    if scale > 1.5:  # recover a little of the upscaling softness
        out = out * 1.4 - _blur(out, 1.2 * min(scale, 4) / 2) * 0.4
    light = 1 + rng.uniform(0.03, 0.15) * _linear_ramp(H, W, rng.uniform(0, 2 * np.pi))
    out = out * light[:, :, None] * rng.uniform(0.93, 1.07, 3).astype(np.float32)
    out = _add_noise(out, rng, rng.uniform(1.0, 3.5))
    return _jpeg(_u8(out), int(rng.integers(75, 96)))


# --------------------------------------------------------------------------- CLI


def _demo_faces() -> tuple[np.ndarray, np.ndarray]:
    from skimage import data

    face = data.astronaut()[0:300, 113:338]  # head and shoulders, 225 x 300 (3:4)
    other = _as_rgb_u8(data.camera())[30:290, 100:295]  # the cameraman's head, 195 x 260
    return face, other


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m tools.synth.cards OUTDIR [SEED]")
        return 0 if args else 2
    out = Path(args[0])
    seed = int(args[1]) if len(args) > 1 else 0
    out.mkdir(parents=True, exist_ok=True)
    face, other = _demo_faces()
    rng = np.random.default_rng(seed)

    def save(name: str, img: np.ndarray) -> None:
        params = [cv2.IMWRITE_JPEG_QUALITY, 95] if name.endswith(".jpg") else []
        cv2.imwrite(str(out / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), params)

    card, box = render_card(face, rng)
    save("card.png", card)
    photo, hom = photograph_with_homography(card, rng)
    save("card_photo.jpg", photo)
    save("photocopy_photo.jpg", photograph(photocopy(card, rng), rng))
    tampered = swap_portrait(card, box, other, rng)
    save("tampered.jpg", photograph(tampered, rng))
    save("screen.jpg", screen_recapture(photo, rng))
    save("print.jpg", print_recapture(photo, rng))
    save("selfie.jpg", render_portrait_selfie(face, rng))
    pb = map_box(box, hom)
    print(f"card {card.shape[1]}x{card.shape[0]}, portrait box {box}; in the photo {pb} ({pb[2] - pb[0]}x{pb[3] - pb[1]} px)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
