"""Passive authentication against a PKI and an EF.SOD this project did not
build: OpenSSL's command line makes the CSCA, the document signer and the CMS
SignedData (``openssl cms -sign``), with RSA and ECDSA both ways round."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from facematch.passive_auth import TrustStore, verify

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")

DG2 = b"\x75\x82\x00\x40" + bytes(range(64))


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _key(kind: str, path: str, cwd: Path) -> None:
    if kind == "ec":
        _run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path, cwd=cwd)
    else:
        _run("genrsa", "-out", path, "2048", cwd=cwd)


def _pki_and_sod(cwd: Path, csca_kind: str, ds_kind: str, groups: dict[int, bytes]) -> bytes:
    _key(csca_kind, "csca.key", cwd)
    _run("req", "-x509", "-new", "-key", "csca.key", "-subj", "/C=VN/CN=OpenSSL CSCA", "-days", "3650",
         "-out", "csca.pem", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-addext", "basicConstraints=critical,CA:true,pathlen:0", cwd=cwd)
    _key(ds_kind, "ds.key", cwd)
    _run("req", "-new", "-key", "ds.key", "-subj", "/C=VN/CN=OpenSSL DS", "-out", "ds.csr", cwd=cwd)
    (cwd / "ext.cnf").write_text("keyUsage=critical,digitalSignature\n")
    _run("x509", "-req", "-in", "ds.csr", "-CA", "csca.pem", "-CAkey", "csca.key", "-CAcreateserial", "-days", "365",
         "-out", "ds.pem", "-extfile", "ext.cnf", cwd=cwd)
    conf = ["asn1=SEQUENCE:lds", "[lds]", "version=INTEGER:0", "alg=SEQUENCE:alg", "dgs=SEQUENCE:dgs", "[alg]",
            "algorithm=OID:sha256", "[dgs]"]
    conf += [f"dg{n}=SEQUENCE:dg{n}" for n in sorted(groups)]
    for n, data in sorted(groups.items()):
        conf += [f"[dg{n}]", f"number=INTEGER:{n}", f"hash=FORMAT:HEX,OCTETSTRING:{hashlib.sha256(data).hexdigest()}"]
    (cwd / "lds.cnf").write_text("\n".join(conf) + "\n")
    _run("asn1parse", "-genconf", "lds.cnf", "-out", "lds.der", "-noout", cwd=cwd)
    _run("cms", "-sign", "-binary", "-nodetach", "-in", "lds.der", "-econtent_type", "2.23.136.1.1.1", "-signer",
         "ds.pem", "-inkey", "ds.key", "-md", "sha256", "-outform", "DER", "-out", "sod.cms", "-nosmimecap", cwd=cwd)
    cms_der = (cwd / "sod.cms").read_bytes()
    n = len(cms_der)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x77" + bytes([0x80 | len(raw)]) + raw + cms_der  # EF.SOD as read from the chip


@pytest.mark.parametrize(("csca_kind", "ds_kind"), [("rsa", "ec"), ("ec", "rsa"), ("rsa", "rsa"), ("ec", "ec")])
def test_an_openssl_made_sod_verifies_and_a_changed_dg2_does_not(tmp_path, csca_kind, ds_kind):
    sod = _pki_and_sod(tmp_path, csca_kind, ds_kind, {2: DG2})
    trust = TrustStore.load(tmp_path / "csca.pem")
    result = verify(sod, {2: DG2}, trust)
    assert result.status == "valid" and result.signer == "CN=OpenSSL DS,C=VN" and "OpenSSL CSCA" in result.issuer
    assert verify(sod, {2: DG2[:-1] + b"\xff"}, trust).status == "hash_mismatch"
