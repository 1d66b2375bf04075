"""Check-and-consume is atomic: 50 concurrent requests against a quota of 10
give exactly 10 successes."""

from __future__ import annotations

import asyncio

import httpx

from facematch.api.app import create_app
from facematch.settings import Settings
from tests.api.conftest import PATH
from tests.conftest import jpeg


def test_fifty_concurrent_requests_quota_ten(store, model_pool, tmp_path, astronaut):
    import cv2

    info, secret = store.create_key(quota=10)
    small = jpeg(cv2.resize(astronaut, (256, 256)))
    app = create_app(Settings(data_dir=tmp_path, queue_limit=100), store=store, pool=model_pool)

    async def run() -> list[dict]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as c:
                async def one():
                    r = await c.post(f"{PATH}?type1=portrait&format_type=file", auth=(info.api_key, secret),
                                     files={"img1": ("a.jpg", small), "img2": ("b.jpg", small)})
                    return r.json()
                return await asyncio.gather(*[one() for _ in range(50)])

    results = asyncio.run(run())
    codes = [r["errorCode"] for r in results]
    assert codes.count("0") == 10
    assert codes.count("4") == 40
    assert store.get(info.api_key).used == 10
