"""A throw-away ICAO PKI for tests: a country signing CA, a document signer it
issued, and an EF.SOD over data groups, built with ``cryptography`` and
``asn1crypto`` (RSA PKCS#1 v1.5, RSA-PSS or ECDSA; SHA-256 by default)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

LDS_OID = "2.23.136.1.1.1"
NOW = dt.datetime.now(dt.UTC)
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class _DataGroupHash(core.Sequence):
    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class _DataGroupHashValues(core.SequenceOf):
    _child_spec = _DataGroupHash


class _LDSSecurityObject(core.Sequence):
    _fields = [("version", core.Integer), ("hash_algorithm", algos.DigestAlgorithm),
               ("data_group_hash_values", _DataGroupHashValues)]


def new_key(kind: str) -> Key:
    return rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _sign_hash(key: Key) -> hashes.HashAlgorithm:
    return hashes.SHA256()


@dataclass
class Pki:
    csca_key: Key
    csca: x509.Certificate
    ds_key: Key
    ds: x509.Certificate

    def csca_pem(self) -> bytes:
        return self.csca.public_bytes(serialization.Encoding.PEM)


def make_pki(kind: str = "rsa", *, ds_not_after: dt.datetime | None = None, cn: str = "Test CSCA",
             ds_key_usage: bool = True) -> Pki:
    """A CSCA (self-signed, keyCertSign) and a document signer it issued (digitalSignature), valid around now."""
    csca_key = new_key(kind)
    csca = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(csca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - dt.timedelta(days=365)).not_valid_after(NOW + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(csca_key, _sign_hash(csca_key)))
    ds_key = new_key(kind)
    usage = x509.KeyUsage(ds_key_usage, False, False, False, False, False, False, False, False) if ds_key_usage \
        else x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    ds = (x509.CertificateBuilder().subject_name(_name(f"{cn} document signer")).issuer_name(csca.subject)
          .public_key(ds_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(NOW - dt.timedelta(days=30))
          .not_valid_after(ds_not_after or NOW + dt.timedelta(days=365))
          .add_extension(usage, critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ds_key.public_key()), critical=False)
          .sign(csca_key, _sign_hash(csca_key)))
    return Pki(csca_key, csca, ds_key, ds)


def crl(pki: Pki, revoked_serials: list[int]) -> bytes:
    builder = (x509.CertificateRevocationListBuilder().issuer_name(pki.csca.subject)
               .last_update(NOW - dt.timedelta(days=1)).next_update(NOW + dt.timedelta(days=30)))
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW - dt.timedelta(hours=1)).build())
    return builder.sign(pki.csca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + value


def make_sod(groups: dict[int, bytes], pki: Pki, *, hash_name: str = "sha256", pss: bool = False,
             signing_time: dt.datetime | None = None, corrupt_signature: bool = False,
             sid: str = "issuer_and_serial_number") -> bytes:
    """EF.SOD (tag 0x77) over ``groups`` (number -> bytes as read), signed by ``pki``'s document signer."""
    lds = _LDSSecurityObject({"version": 0, "hash_algorithm": {"algorithm": hash_name},
                              "data_group_hash_values": [
                                  {"data_group_number": n, "data_group_hash_value": hashlib.new(hash_name, b).digest()}
                                  for n, b in sorted(groups.items())]})
    content = lds.dump()
    attrs: list[dict[str, Any]] = [{"type": "content_type", "values": [LDS_OID]}]
    attrs.append({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time or NOW})]})
    attrs.append({"type": "message_digest", "values": [hashlib.new(hash_name, content).digest()]})
    signed_attrs = cms.CMSAttributes(attrs)
    data = signed_attrs.dump()
    h = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512(), "sha1": hashes.SHA1()}[hash_name]
    key = pki.ds_key
    if isinstance(key, rsa.RSAPrivateKey):
        if pss:
            signature = key.sign(data, padding.PSS(padding.MGF1(h), h.digest_size), h)
            algorithm: dict[str, Any] = {"algorithm": "rsassa_pss", "parameters": {
                "hash_algorithm": {"algorithm": hash_name},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": hash_name}},
                "salt_length": h.digest_size, "trailer_field": "trailer_field_bc"}}
        else:
            signature = key.sign(data, padding.PKCS1v15(), h)
            algorithm = {"algorithm": f"{hash_name}_rsa"}
    else:
        signature = key.sign(data, ec.ECDSA(h))
        algorithm = {"algorithm": f"{hash_name}_ecdsa"}
    if corrupt_signature:
        signature = signature[:-8] + bytes(b ^ 0x5A for b in signature[-8:])
    ds_asn1 = asn1_x509.Certificate.load(pki.ds.public_bytes(serialization.Encoding.DER))
    if sid == "issuer_and_serial_number":
        identifier = cms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": ds_asn1.issuer, "serial_number": ds_asn1.serial_number}})
        version = "v1"
    else:
        identifier = cms.SignerIdentifier({"subject_key_identifier": ds_asn1.key_identifier or
                                           hashlib.sha1(ds_asn1.public_key.dump()).digest()})
        version = "v3"
    signer = cms.SignerInfo({"version": version, "sid": identifier, "digest_algorithm": {"algorithm": hash_name},
                             "signed_attrs": signed_attrs, "signature_algorithm": algorithm, "signature": signature})
    signed = cms.SignedData({"version": "v3", "digest_algorithms": [{"algorithm": hash_name}],
                             "encap_content_info": {"content_type": LDS_OID, "content": content},
                             "certificates": [ds_asn1], "signer_infos": [signer]})
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed})
    return _tlv(0x77, info.dump())


def master_list(certs: list[x509.Certificate], signer: Pki) -> bytes:
    """An ICAO CSCA master list (CMS SignedData, content 2.23.136.1.1.2) holding ``certs``."""

    class CertSet(core.SetOf):
        _child_spec = asn1_x509.Certificate

    class CscaMasterList(core.Sequence):
        _fields = [("version", core.Integer), ("cert_list", CertSet)]

    content = CscaMasterList({"version": 0, "cert_list": [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certs]}).dump()
    attrs = cms.CMSAttributes([{"type": "content_type", "values": ["2.23.136.1.1.2"]},
                               {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}])
    key = signer.ds_key
    data = attrs.dump()
    signature = (key.sign(data, padding.PKCS1v15(), hashes.SHA256()) if isinstance(key, rsa.RSAPrivateKey)
                 else key.sign(data, ec.ECDSA(hashes.SHA256())))
    ds_asn1 = asn1_x509.Certificate.load(signer.ds.public_bytes(serialization.Encoding.DER))
    signer_info = cms.SignerInfo({
        "version": "v1", "sid": {"issuer_and_serial_number": {"issuer": ds_asn1.issuer,
                                                                "serial_number": ds_asn1.serial_number}},
        "digest_algorithm": {"algorithm": "sha256"}, "signed_attrs": attrs,
        "signature_algorithm": {"algorithm": "sha256_rsa" if isinstance(key, rsa.RSAPrivateKey) else "sha256_ecdsa"},
        "signature": signature})
    signed = cms.SignedData({"version": "v3", "digest_algorithms": [{"algorithm": "sha256"}],
                             "encap_content_info": {"content_type": "2.23.136.1.1.2", "content": content},
                             "certificates": [ds_asn1], "signer_infos": [signer_info]})
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()
