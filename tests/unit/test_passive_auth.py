"""Passive authentication (ICAO 9303 part 11) against a throw-away PKI built by
the test: every status, RSA (PKCS#1 v1.5 and PSS) and ECDSA, PEM bundles,
master lists and CRLs."""

from __future__ import annotations

import datetime as dt

import pytest

from facematch.passive_auth import STATUSES, TrustStore, verify
from facematch.types import InvalidCode
from tests.support import pki as P

DG2 = b"\x75\x82\x01\x00" + bytes(range(256))
DG1 = b"\x61\x10" + b"P<VNMNGUYEN<<AN"  + b"<"


@pytest.fixture(scope="module", params=["rsa", "ec"])
def issuer(request):
    return P.make_pki(request.param)


@pytest.fixture(scope="module")
def trust_file(issuer, tmp_path_factory):
    path = tmp_path_factory.mktemp("trust") / "csca.pem"
    path.write_bytes(issuer.csca_pem())
    return path


def test_valid_sod_verifies(issuer, trust_file):
    trust = TrustStore.load(trust_file)
    result = verify(P.make_sod({1: DG1, 2: DG2}, issuer), {1: DG1, 2: DG2}, trust)
    assert result.status == "valid" and result.verified
    assert result.data_groups == {"DG1": True, "DG2": True}
    assert "document signer" in result.signer and "Test CSCA" in result.issuer
    assert result.findings() == []
    assert result.as_dict()["dataGroups"] == {"DG1": True, "DG2": True}


@pytest.mark.parametrize("options", [{"hash_name": "sha384"}, {"hash_name": "sha512"}, {"sid": "ski"}])
def test_other_hashes_and_signer_identifiers(issuer, trust_file, options):
    assert verify(P.make_sod({2: DG2}, issuer, **options), {2: DG2}, TrustStore.load(trust_file)).status == "valid"


def test_rsa_pss(trust_file, tmp_path):
    rsa = P.make_pki("rsa")
    (tmp_path / "c.pem").write_bytes(rsa.csca_pem())
    assert verify(P.make_sod({2: DG2}, rsa, pss=True), {2: DG2}, TrustStore.load(tmp_path / "c.pem")).status == "valid"


def test_one_changed_byte_in_the_dg2_is_a_hash_mismatch(issuer, trust_file):
    sod = P.make_sod({2: DG2}, issuer)
    changed = DG2[:100] + bytes([DG2[100] ^ 1]) + DG2[101:]
    result = verify(sod, {2: changed}, TrustStore.load(trust_file))
    assert result.status == "hash_mismatch" and result.data_groups == {"DG2": False}
    assert [(f.code, f.check) for f in result.findings()] == [(InvalidCode.TAMPERING, "chip_hash_mismatch")]
    # a data group the SOD does not list cannot match either
    assert verify(sod, {2: DG2, 14: b"\x6e\x01\x00"}, TrustStore.load(trust_file)).status == "hash_mismatch"


def test_signer_outside_the_configured_cscas_is_untrusted(issuer, trust_file):
    other = P.make_pki("ec", cn="Other CSCA")
    assert verify(P.make_sod({2: DG2}, other), {2: DG2}, TrustStore.load(trust_file)).status == "untrusted_signer"
    # same name, another key: the signature on the signer's certificate decides
    impostor = P.make_pki("rsa")
    assert verify(P.make_sod({2: DG2}, impostor), {2: DG2}, TrustStore.load(trust_file)).status == "untrusted_signer"


def test_a_signer_without_digital_signature_usage_is_untrusted(tmp_path):
    p = P.make_pki("ec", ds_key_usage=False)
    (tmp_path / "c.pem").write_bytes(p.csca_pem())
    assert verify(P.make_sod({2: DG2}, p), {2: DG2}, TrustStore.load(tmp_path / "c.pem")).status == "untrusted_signer"


def test_corrupted_signature_is_bad_signature(issuer, trust_file):
    sod = P.make_sod({2: DG2}, issuer, corrupt_signature=True)
    assert verify(sod, {2: DG2}, TrustStore.load(trust_file)).status == "bad_signature"


def test_signed_after_the_signer_expired_is_expired(tmp_path):
    p = P.make_pki("rsa", ds_not_after=P.NOW - dt.timedelta(days=1))
    (tmp_path / "c.pem").write_bytes(p.csca_pem())
    sod = P.make_sod({2: DG2}, p, signing_time=P.NOW)
    assert verify(sod, {2: DG2}, TrustStore.load(tmp_path / "c.pem")).status == "expired"
    # signed while the signer was valid: still valid now
    sod = P.make_sod({2: DG2}, p, signing_time=P.NOW - dt.timedelta(days=10))
    assert verify(sod, {2: DG2}, TrustStore.load(tmp_path / "c.pem")).status == "valid"


def test_a_revoked_signer_is_revoked(issuer, trust_file, tmp_path):
    (tmp_path / "crl.pem").write_bytes(P.crl(issuer, [issuer.ds.serial_number]))
    trust = TrustStore.load(trust_file, tmp_path / "crl.pem")
    assert verify(P.make_sod({2: DG2}, issuer), {2: DG2}, trust).status == "revoked"
    (tmp_path / "other.pem").write_bytes(P.crl(issuer, [12345]))
    assert verify(P.make_sod({2: DG2}, issuer), {2: DG2}, TrustStore.load(trust_file, tmp_path / "other.pem")).status \
        == "valid"


@pytest.mark.parametrize("garbage", [b"", b"\x77\x00", b"\x77\x03abc", b"not der at all" * 10, b"\x30\x80" + b"\x00" * 40,
                                     b"\x77\x84\xff\xff\xff\xff"])
def test_garbage_is_malformed_or_not_checked(issuer, trust_file, garbage):
    result = verify(garbage, {2: DG2}, TrustStore.load(trust_file))
    assert result.status == ("not_checked" if not garbage else "malformed")


def test_oversized_sod_is_malformed(issuer, trust_file):
    sod = P.make_sod({2: DG2}, issuer)
    assert verify(sod, {2: DG2}, TrustStore.load(trust_file), max_sod_bytes=len(sod) - 1).status == "malformed"


def test_without_sod_or_trust_nothing_is_checked(issuer, trust_file):
    sod = P.make_sod({2: DG2}, issuer)
    for result in (verify(None, {2: DG2}, TrustStore.load(trust_file)), verify(sod, {2: DG2}, None)):
        assert result.status == "not_checked" and not result.verified
        assert [f.check for f in result.findings()] == ["chip_not_verified"]
    assert set(STATUSES) >= {"valid", "not_checked", "malformed"}


def test_master_list_and_bundles_load(issuer, tmp_path):
    other = P.make_pki("ec", cn="Other CSCA")
    (tmp_path / "ml.ml").write_bytes(P.master_list([other.csca, issuer.csca], other))
    trust = TrustStore.load(tmp_path / "ml.ml")
    assert len(trust.cscas) == 2
    assert verify(P.make_sod({2: DG2}, issuer), {2: DG2}, trust).status == "valid"
    (tmp_path / "bundle.pem").write_bytes(other.csca_pem() + issuer.csca_pem())
    assert len(TrustStore.load(tmp_path / "bundle.pem").cscas) == 2


@pytest.mark.parametrize("content", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_unreadable_trust_files_are_refused_clearly(tmp_path, content):
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="CSCA file"):
        TrustStore.load(path)
    with pytest.raises(ValueError, match="CSCA file .* missing|CSCA file"):
        TrustStore.load(tmp_path / "missing.pem")


def test_chip_verify_command(issuer, trust_file, tmp_path, capsys):
    """``facematch chip-verify`` runs the same check: JSON out, exit 0 when valid and 1 otherwise, 2 for a bad
    CSCA file."""
    import json

    from facematch.cli import main

    (tmp_path / "dg2.bin").write_bytes(DG2)
    (tmp_path / "dg1.bin").write_bytes(DG1)
    (tmp_path / "sod.bin").write_bytes(P.make_sod({1: DG1, 2: DG2}, issuer))
    args = [str(tmp_path / "dg2.bin"), str(tmp_path / "sod.bin"), "--csca", str(trust_file)]
    assert main(["chip-verify", *args, "--dg1", str(tmp_path / "dg1.bin")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "valid" and out["dataGroups"] == {"DG1": True, "DG2": True}
    (tmp_path / "dg2.bin").write_bytes(DG2[:-1] + b"\x00")
    assert main(["chip-verify", *args]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "hash_mismatch"
    (tmp_path / "bad.pem").write_bytes(b"junk")
    assert main(["chip-verify", *args[:2], "--csca", str(tmp_path / "bad.pem")]) == 2
    assert "CSCA file" in capsys.readouterr().err


def test_padding_after_the_sod_is_ignored_and_a_bare_content_info_is_taken(issuer, trust_file):
    sod = P.make_sod({2: DG2}, issuer)
    trust = TrustStore.load(trust_file)
    assert verify(sod + b"\x00" * 37, {2: DG2}, trust).status == "valid"  # read in fixed-size blocks
    bare = sod[2 + (sod[1] & 0x7F):] if sod[1] & 0x80 else sod[2:]
    assert bare[0] == 0x30 and verify(bare, {2: DG2}, trust).status == "valid"
