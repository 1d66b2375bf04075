"""``format_type=url``'s img1 and img2, read from the raw query string (``api/app.py: _url_params``): as
Starlette reads them, except where a URL written in unencoded brought its own ``&`` parameters."""

from __future__ import annotations

import random
from urllib.parse import quote, urlencode

import pytest
from starlette.datastructures import QueryParams

from facematch.api.app import _url_params

SIGNED = "https://b.s3.example/card.jpg?X-Amz-Credential=AKIA%2F20261207&X-Amz-Signature=0f1e+2d"


@pytest.mark.parametrize("query, img1, img2", [
    (f"img1={SIGNED}&img2=https://cdn.example/s.jpg&type1=card&format_type=url", [SIGNED],
     ["https://cdn.example/s.jpg"]),
    ("img1=https://a/c.jpg?t=1&e=2&img2=https://a/s.jpg?t=3&u=4", ["https://a/c.jpg?t=1&e=2"],
     ["https://a/s.jpg?t=3&u=4"]),
    ("format_type=url&img2=https://a/s.jpg?t=1&x=2&type1=card&img1=https://a/c.jpg", ["https://a/c.jpg"],
     ["https://a/s.jpg?t=1&x=2"]),
    ("img1=https://a/c.jpg?t=a+b%2Fc&img2=y", ["https://a/c.jpg?t=a b/c"], ["y"]),  # one piece: as before
    ("img1=http://a/c.jpg&other=1&img2=y", ["http://a/c.jpg"], ["y"]),  # no "?": "other" is the request's
])
def test_unencoded_urls_keep_their_parameters(query, img1, img2):
    assert _url_params(query.encode()) == [img1, img2]


def test_encoded_queries_read_as_starlette_reads_them():
    rng = random.Random(5)
    alphabet = "ab/?&=%+ .:-_~\u1ea3#;"
    for _ in range(2000):
        pairs = [(rng.choice(["img1", "img2", "type1", "format_type", "x"]),
                  "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))) for _ in range(rng.randint(0, 5))]
        query = urlencode(pairs, quote_via=quote).encode()
        expected = QueryParams(query.decode("latin-1"))
        assert _url_params(query) == [expected.getlist("img1"), expected.getlist("img2")], query
