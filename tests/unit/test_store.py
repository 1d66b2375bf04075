from __future__ import annotations

import base64

import pytest

from facematch.api.auth import Authenticator, parse_basic
from facematch.errors import AuthError
from facematch.store import open_store
from facematch.store.secrets import hash_secret, verify_secret


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def test_secret_hash_is_scrypt_and_salted():
    h1, h2 = hash_secret("s3cret"), hash_secret("s3cret")
    assert h1.startswith("scrypt$") and h1 != h2 and "s3cret" not in h1
    assert verify_secret("s3cret", h1) and not verify_secret("s3cret!", h1)
    assert not verify_secret("anything", None)


def test_keys_lifecycle(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/k.db")
    info, secret = store.create_key(quota=3, label="bank")
    assert store.get(info.api_key).quota == 3
    raw = (tmp_path / "k.db").read_bytes()
    assert secret.encode() not in raw  # only the hash is at rest
    assert store.set_quota(info.api_key, None) and store.get(info.api_key).quota is None
    assert store.revoke(info.api_key) and store.secret_hash(info.api_key) is None
    assert not store.set_quota("fm_nope", 1) and not store.revoke("fm_nope")
    assert [k.api_key for k in store.list_keys()] == [info.api_key]


def test_authenticator(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/k.db")
    info, secret = store.create_key(quota=None)
    auth = Authenticator(store)
    assert auth.authenticate(basic(info.api_key, secret)) == info.api_key
    assert auth.authenticate(basic(info.api_key, secret)) == info.api_key  # cached path
    with pytest.raises(AuthError):
        auth.authenticate(basic(info.api_key, secret + "x"))
    store.revoke(info.api_key)
    with pytest.raises(AuthError):  # revocation beats the cache
        auth.authenticate(basic(info.api_key, secret))


@pytest.mark.parametrize("header", [None, "", "Bearer abc", "Basic", "Basic ***", basic("", "x"), basic("k", ""),
                                    "Basic " + base64.b64encode(b"nocolon").decode()])
def test_parse_basic_rejects(header):
    with pytest.raises(AuthError):
        parse_basic(header)
