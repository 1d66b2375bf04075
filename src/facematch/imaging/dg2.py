"""The portrait read from the CCCD's chip: ICAO 9303 data group 2 (DG2).

The app reads DG2 from the chip as one BER-TLV object (ICAO Doc 9303 part
10, 4.7.2; ISO/IEC 7816-11):

    75 L                      DG2
      7F61 L                  biometric information group template
        02 01 n               number of instances that follow
        7F60 L                biometric information template (n times)
          A1 L                biometric header template (type, format, dates, ...)
          5F2E L | 7F2E L     biometric data block: an ISO/IEC 19794-5 face record

and the face record (ISO/IEC 19794-5:2005, version ``010``; big-endian):

    "FAC\\0" "010\\0" record length (4) number of images (2)
    per image:
      facial information (20): data length (4) feature points (2) gender (1)
          eye colour (1) hair colour (1) feature mask (3) expression (2)
          pose angles (3) their uncertainties (3)
      feature points (8 each)
      image information (12): face image type (1) image data type (1:
          0 JPEG, 1 JPEG 2000) width (2) height (2) colour space (1)
          source type (1) device type (2) quality (2)
      image data (the rest of the image's data length)

``extract_portrait`` takes the DG2 bytes, a bare face record or a bare image
and returns the image's bytes. Every declared length is checked against the
bytes: a truncated, overlong or inconsistent record raises ``NoContentError``
(errorCode 1) with a short, data-free ``detail`` (``dg2_truncated``,
``dg2_length_mismatch``, ...). The structure has a fixed depth, so nothing
recurses, and each byte is read a bounded number of times.
"""

from __future__ import annotations

from dataclasses import dataclass

from facematch.errors import NoContentError

TAG_DG2 = 0x75
TAG_GROUP = 0x7F61  # biometric information group template
TAG_COUNT = 0x02  # number of instances
TAG_TEMPLATE = 0x7F60  # biometric information template
TAG_HEADER = 0xA1  # biometric header template
TAG_DATA = 0x5F2E  # biometric data block
TAG_DATA_CONSTRUCTED = 0x7F2E  # biometric data block, constructed form
FACE_FORMAT = b"FAC\x00"
FACE_VERSION = b"010\x00"
HEADER_LEN = 14  # format, version, record length, number of images
INFO_LEN = 20  # facial information block
POINT_LEN = 8  # one feature point
IMAGE_INFO_LEN = 12
IMAGE_TYPES = {0: "JPEG", 1: "JPEG2000"}
JPEG_SIGNATURE = b"\xff\xd8\xff"
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_SIGNATURE = b"\xff\x4f\xff\x51"
#: BER tags and lengths longer than this many bytes are refused (DG2 uses
#: 1-2 byte tags and 1-4 byte lengths).
MAX_TAG_BYTES = 3
MAX_LENGTH_BYTES = 4


@dataclass(frozen=True)
class Portrait:
    """The first face image of a DG2 or face record."""

    image: bytes  # the encoded image (JPEG or JPEG 2000)
    image_type: str  # "JPEG" or "JPEG2000", as declared and as the bytes' signature says
    width: int  # as declared by the record (0 for a bare image)
    height: int
    images: int  # face images in the record (templates in the DG2 times images per record, at least 1)


def extract_portrait(data: bytes) -> bytes:
    """The portrait's image bytes from DG2 bytes (tag ``75``, or its inner
    ``7F61`` template), a bare ISO/IEC 19794-5 face record (``FAC\\0``) or
    a bare image. Bytes that are none of these are returned unchanged for
    ``decode_image`` to judge (it refuses what is not an image).

    Raises ``NoContentError`` on a malformed DG2 or face record."""
    if data[:1] == bytes([TAG_DG2]) or data[:2] == TAG_GROUP.to_bytes(2, "big") or data[:4] == FACE_FORMAT:
        return parse_portrait(data).image
    return data


def parse_portrait(data: bytes) -> Portrait:
    """``extract_portrait``'s parse, with what the record declares about the image."""
    if not data:
        raise NoContentError("empty")
    if data[:4] == FACE_FORMAT:
        return parse_face_record(data)
    if data[:1] == bytes([TAG_DG2]):
        tag, value = _single_tlv(data, 0, len(data))
        if tag != TAG_DG2:
            raise NoContentError("dg2_bad_tag")
        start, end = value
    else:
        start, end = 0, len(data)
    tag, (start, end) = _single_tlv(data, start, end)
    if tag != TAG_GROUP:
        raise NoContentError("dg2_bad_tag")
    children = _children(data, start, end)
    if not children or children[0][0] != TAG_COUNT:
        raise NoContentError("dg2_no_count")
    count_start, count_end = children[0][1]
    if count_end - count_start != 1:
        raise NoContentError("dg2_length_mismatch")
    templates = [value for tag, value in children[1:] if tag == TAG_TEMPLATE]
    if len(templates) != len(children) - 1:
        raise NoContentError("dg2_bad_tag")
    if data[count_start] == 0 or data[count_start] != len(templates):
        raise NoContentError("dg2_count_mismatch")
    portraits = [_template(data, *value) for value in templates]
    first = portraits[0]
    return Portrait(first.image, first.image_type, first.width, first.height,
                    sum(p.images for p in portraits))


def parse_face_record(data: bytes) -> Portrait:
    """The first image of an ISO/IEC 19794-5:2005 face record; every image's
    lengths are checked."""
    if len(data) < HEADER_LEN:
        raise NoContentError("dg2_truncated")
    if data[:4] != FACE_FORMAT:
        raise NoContentError("dg2_not_face_record")
    if data[4:8] != FACE_VERSION:
        raise NoContentError("dg2_record_version_unsupported")
    record_length = int.from_bytes(data[8:12], "big")
    count = int.from_bytes(data[12:14], "big")
    if record_length > len(data):
        raise NoContentError("dg2_truncated")
    if record_length != len(data):
        raise NoContentError("dg2_length_mismatch")
    if count == 0:
        raise NoContentError("dg2_no_image")
    pos, first = HEADER_LEN, None
    for _ in range(count):  # each image takes at least INFO_LEN + IMAGE_INFO_LEN bytes: linear
        if pos + INFO_LEN > len(data):
            raise NoContentError("dg2_truncated")
        length = int.from_bytes(data[pos:pos + 4], "big")
        points = int.from_bytes(data[pos + 4:pos + 6], "big")
        info = pos + INFO_LEN + POINT_LEN * points  # the image information block
        if length < INFO_LEN + POINT_LEN * points + IMAGE_INFO_LEN + 1:
            raise NoContentError("dg2_length_mismatch")
        if pos + length > len(data):
            raise NoContentError("dg2_truncated")
        image_type = IMAGE_TYPES.get(data[info + 1])
        if image_type is None:
            raise NoContentError("dg2_image_type_unsupported")
        width = int.from_bytes(data[info + 2:info + 4], "big")
        height = int.from_bytes(data[info + 4:info + 6], "big")
        image = data[info + IMAGE_INFO_LEN:pos + length]
        if _signature(image) != image_type:
            raise NoContentError("dg2_image_type_mismatch")
        if first is None:
            first = Portrait(image, image_type, width, height, count)
        pos += length
    if pos != len(data) or first is None:
        raise NoContentError("dg2_length_mismatch")
    return first


def _template(data: bytes, start: int, end: int) -> Portrait:
    """One biometric information template: a header, then the data block."""
    children = _children(data, start, end)
    if len(children) != 2 or children[0][0] != TAG_HEADER:
        raise NoContentError("dg2_no_header")
    header_start, header_end = children[0][1]
    _children(data, header_start, header_end)  # its elements' lengths must add up too
    tag, (block_start, block_end) = children[1]
    if tag not in (TAG_DATA, TAG_DATA_CONSTRUCTED):
        raise NoContentError("dg2_no_data_block")
    return parse_face_record(data[block_start:block_end])


def _signature(image: bytes) -> str | None:
    if image.startswith(JPEG_SIGNATURE):
        return "JPEG"
    if image.startswith((JP2_SIGNATURE, J2K_SIGNATURE)):
        return "JPEG2000"
    return None


def _single_tlv(data: bytes, start: int, end: int) -> tuple[int, tuple[int, int]]:
    """The one TLV object filling ``data[start:end]`` exactly."""
    tag, value_start, value_end = _tlv(data, start, end)
    if value_end != end:
        raise NoContentError("dg2_length_mismatch")
    return tag, (value_start, value_end)


def _children(data: bytes, start: int, end: int) -> list[tuple[int, tuple[int, int]]]:
    """The TLV objects that fill ``data[start:end]`` exactly, one level down."""
    out: list[tuple[int, tuple[int, int]]] = []
    pos = start
    while pos < end:  # every object takes at least two bytes: linear
        tag, value_start, value_end = _tlv(data, pos, end)
        out.append((tag, (value_start, value_end)))
        pos = value_end
    return out


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """BER-TLV at ``pos``: (tag, value start, value end), within ``end``."""
    if pos >= end:
        raise NoContentError("dg2_truncated")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # multi-byte tag: continuation bytes have the high bit set
        for i in range(MAX_TAG_BYTES):
            if pos >= end:
                raise NoContentError("dg2_truncated")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
            if i == MAX_TAG_BYTES - 1:
                raise NoContentError("dg2_bad_tag")
    if pos >= end:
        raise NoContentError("dg2_truncated")
    first = data[pos]
    pos += 1
    if first < 0x80:  # short form
        length = first
    else:  # long form: 0x81-0x84 then that many bytes; 0x80 (indefinite) is not DER
        n = first & 0x7F
        if n == 0 or n > MAX_LENGTH_BYTES:
            raise NoContentError("dg2_bad_length")
        if pos + n > end:
            raise NoContentError("dg2_truncated")
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > end:
        raise NoContentError("dg2_truncated")
    return tag, pos, pos + length
