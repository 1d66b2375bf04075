"""Passive authentication of the chip's data (ICAO Doc 9303 part 11, 5.1;
RFC 5652): was the portrait read from the CCCD's chip signed by the issuing
state?

The chip's Document Security Object, EF.SOD (tag ``0x77``), wraps a CMS
``SignedData`` whose content (type 2.23.136.1.1.1) is the
``LDSSecurityObject``: a hash algorithm and the hash of every data group.
``verify`` checks, in this order, and answers with the first failure:

1. the SOD parses (``malformed`` otherwise: not DER, over the size limit,
   another content type, no signed attributes, no signer certificate);
2. the signed attributes' message digest is the hash of the content, and the
   signature over the signed attributes verifies with the document signer
   certificate carried in the SOD (RSA PKCS#1 v1.5, RSA-PSS or ECDSA, SHA-1
   to SHA-512 as the SOD declares): ``bad_signature``;
3. the signer certificate was issued (and signed) by a configured country
   signing CA, with the key usages they must have: ``untrusted_signer``;
4. both were valid at the signing time (the ``signingTime`` attribute, or now
   without one): ``expired``;
5. no configured CRL of that CSCA lists the signer: ``revoked``;
6. the hash of each data group given equals the SOD's: ``hash_mismatch``.

Without a SOD or without trusted CSCAs the status is ``not_checked``. All
parsing uses ``asn1crypto`` and all cryptography ``cryptography``; nothing
here is hand-rolled. What it proves: the data was signed by the issuer. What
it does not: that the chip is not a clone (docs/chip.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import algos, cms, core, pem
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from facematch.checks import Finding
from facematch.contract.models import ChipResult
from facematch.types import InvalidCode

__all__ = ["STATUSES", "ChipCheck", "TrustStore", "verify"]

LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
CSCA_MASTER_LIST = "2.23.136.1.1.2"
TAG_SOD = 0x77
#: Data group tags as read from the chip (ICAO 9303 part 10, table 34), for the ones the API takes.
DG_TAGS = {1: 0x61, 2: 0x75, 13: 0x6D, 14: 0x6E, 15: 0x6F}
STATUSES = ("valid", "not_checked", "hash_mismatch", "bad_signature", "untrusted_signer", "expired", "revoked",
            "malformed")
HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
    "sha512": hashes.SHA512}


class _DataGroupHash(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class _DataGroupHashValues(core.SequenceOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = _DataGroupHash


class _LDSVersionInfo(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("lds_version", core.PrintableString), ("unicode_version", core.PrintableString)]


class _LDSSecurityObject(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("version", core.Integer), ("hash_algorithm", algos.DigestAlgorithm),
               ("data_group_hash_values", _DataGroupHashValues),
               ("lds_version_info", _LDSVersionInfo, {"optional": True})]


class _CertificateSet(core.SetOf):  # type: ignore[misc]  # asn1crypto is untyped
    _child_spec = asn1_x509.Certificate


class _CscaMasterList(core.Sequence):  # type: ignore[misc]  # asn1crypto is untyped
    _fields = [("version", core.Integer), ("cert_list", _CertificateSet)]


@dataclass(frozen=True)
class ChipCheck:
    """The outcome, as ``data.chip`` reports it."""

    status: str
    signer: str = ""  # the document signer certificate's subject
    issuer: str = ""  # the CSCA's subject, once found
    data_groups: dict[str, bool] = field(default_factory=dict)  # "DG2" -> its hash matched

    @property
    def verified(self) -> bool:
        return self.status == "valid"

    def result(self) -> ChipResult:
        """As the contract's ``data.chip`` (``facematch.contract.models``)."""
        return ChipResult(verified=self.verified, status=self.status, signer=self.signer, issuer=self.issuer,
                          dataGroups=dict(self.data_groups))

    def as_dict(self) -> dict[str, Any]:
        return self.result().model_dump()

    def findings(self, image: str = "img1") -> list[Finding]:
        """Code 3 (tampering) for every failure; ``chip_not_verified`` (informational: never the reported
        invalidCode, ``checks.policy``) when nothing was checked."""
        if self.status == "valid":
            return []
        check = "chip_not_verified" if self.status == "not_checked" else f"chip_{self.status}"
        return [Finding(InvalidCode.TAMPERING, check, image)]


class _Failed(Exception):
    def __init__(self, status: str, signer: str = "", issuer: str = "") -> None:
        super().__init__(status)
        self.status, self.signer, self.issuer = status, signer, issuer


@dataclass(frozen=True)
class TrustStore:
    """Trusted country signing CA certificates, and CRLs (optional)."""

    cscas: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()

    @classmethod
    def load(cls, csca: Path | str, crl: Path | str | None = None) -> TrustStore:
        """From a PEM bundle, one DER certificate or an ICAO CSCA master list (CMS, ``.ml``), and CRLs (PEM
        or DER). Raises ``ValueError`` saying what is wrong with which file."""
        certs = _load_certificates(Path(csca))
        crls = _load_crls(Path(crl)) if crl is not None else ()
        return cls(tuple(certs), tuple(crls))


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{what} file {path}: {exc.strerror or exc}") from None
    if not data:
        raise ValueError(f"{what} file {path} is empty")
    return data


def _load_certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path, "CSCA")
    try:
        if pem.detect(data):
            certs = [x509.load_der_x509_certificate(der) for kind, _, der in pem.unarmor(data, multiple=True)
                     if kind == "CERTIFICATE"]
        else:
            certs = _master_list(data) or [x509.load_der_x509_certificate(data)]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"CSCA file {path}: not a PEM bundle, a DER certificate or a CSCA master list ({exc})") \
            from None
    if not certs:
        raise ValueError(f"CSCA file {path} holds no certificate")
    return certs


def _master_list(data: bytes) -> list[x509.Certificate]:
    """The certificates of an ICAO CSCA master list (its own signature is not checked: trusting the file is
    the operator's decision), or [] when ``data`` is not one."""
    try:
        info = cms.ContentInfo.load(data)
        if info["content_type"].native != "signed_data":
            return []
        content = info["content"]["encap_content_info"]
        if content["content_type"].dotted != CSCA_MASTER_LIST:
            return []
        ml = _CscaMasterList.load(bytes(content["content"].contents))
        return [x509.load_der_x509_certificate(c.dump()) for c in ml["cert_list"]]
    except (ValueError, TypeError, KeyError):
        return []


def _load_crls(path: Path) -> list[x509.CertificateRevocationList]:
    data = _read(path, "CRL")
    try:
        if pem.detect(data):
            return [x509.load_der_x509_crl(der) for kind, _, der in pem.unarmor(data, multiple=True)
                    if kind == "X509 CRL"]
        return [x509.load_der_x509_crl(data)]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"CRL file {path}: not a PEM or DER CRL ({exc})") from None


def _unwrap_sod(sod: bytes) -> bytes:
    """The CMS ContentInfo inside EF.SOD's ``0x77`` TLV (a bare ContentInfo is taken as it is). Bytes after
    the TLV (the padding some readers leave when they read the file in fixed-size blocks) are ignored."""
    if not sod or sod[0] != TAG_SOD:
        return sod
    value = core.Asn1Value.load(sod)
    return bytes(value.contents)


def _hash(name: str, data: bytes) -> bytes:
    if name not in HASHES:
        raise _Failed("malformed")
    h = hashes.Hash(HASHES[name]())
    h.update(data)
    return h.finalize()


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate:
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert = choice.chosen
        if sid.name == "issuer_and_serial_number":
            match = (cert.issuer == sid.chosen["issuer"] and cert.serial_number == sid.chosen["serial_number"].native)
        else:
            match = (cert.key_identifier or cert.public_key.sha1) == sid.chosen.native  # RFC 5280, 4.2.1.2 (1)
        if match:
            return x509.load_der_x509_certificate(cert.dump())
    raise _Failed("malformed")


def _verify_signature(cert: x509.Certificate, signer: cms.SignerInfo, data: bytes) -> None:
    algorithm = signer["signature_algorithm"]
    signature = signer["signature"].native
    key = cert.public_key()
    try:
        kind = algorithm.signature_algo
        if kind == "rsassa_pss":
            params = algorithm["parameters"]
            h = HASHES[params["hash_algorithm"]["algorithm"].native]()
            mgf_hash = HASHES[params["mask_gen_algorithm"]["parameters"]["algorithm"].native]()
            if not isinstance(key, rsa.RSAPublicKey):
                raise _Failed("bad_signature")
            key.verify(signature, data, padding.PSS(padding.MGF1(mgf_hash), params["salt_length"].native), h)
            return
        digest = signer["digest_algorithm"]["algorithm"].native
        if digest not in HASHES:
            raise _Failed("malformed")
        if kind == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), HASHES[digest]())
        elif kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(HASHES[digest]()))
        else:
            raise _Failed("bad_signature")
    except InvalidSignature:
        raise _Failed("bad_signature") from None
    except (KeyError, ValueError):
        raise _Failed("malformed") from None


def _has_usage(cert: x509.Certificate, usage: str) -> bool:
    """Whether the key usage extension, when present, allows ``usage``."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(getattr(ku, usage))


def _valid_at(cert: x509.Certificate, when: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def _chain(ds: x509.Certificate, trust: TrustStore, when: dt.datetime) -> x509.Certificate:
    """The CSCA that issued ``ds``, after the chain, validity and revocation checks."""
    issuer = None
    for csca in trust.cscas:
        if csca.subject != ds.issuer:
            continue
        try:
            ds.verify_directly_issued_by(csca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        issuer = csca
        break
    if issuer is None or not _has_usage(ds, "digital_signature") or not _has_usage(issuer, "key_cert_sign"):
        raise _Failed("untrusted_signer")
    subject = issuer.subject.rfc4514_string()
    if not (_valid_at(ds, when) and _valid_at(issuer, when)):
        raise _Failed("expired", issuer=subject)
    key: Any = issuer.public_key()
    for crl in trust.crls:
        if crl.issuer == issuer.subject and crl.is_signature_valid(key) \
                and crl.get_revoked_certificate_by_serial_number(ds.serial_number) is not None:
            raise _Failed("revoked", issuer=subject)
    return issuer


def verify(sod: bytes | None, groups: Mapping[int, bytes], trust: TrustStore | None, *,
           max_sod_bytes: int = 64 * 1024, max_group_bytes: int | None = None) -> ChipCheck:
    """Passive authentication of the data groups ``groups`` (number -> the bytes as read from the chip)
    against the SOD and the trusted CSCAs. Never raises on bad input: a SOD that cannot be read, or one over
    ``max_sod_bytes`` (a data group over ``max_group_bytes``), is ``malformed``."""
    if not sod or trust is None or not trust.cscas:
        return ChipCheck("not_checked")
    if len(sod) > max_sod_bytes or (max_group_bytes is not None
                                     and any(len(g) > max_group_bytes for g in groups.values())):
        return ChipCheck("malformed")
    signer_name = issuer_name = ""
    try:
        info = cms.ContentInfo.load(_unwrap_sod(sod))
        if info["content_type"].native != "signed_data":
            raise _Failed("malformed")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != LDS_SECURITY_OBJECT or encap["content"].native is None:
            raise _Failed("malformed")
        content = bytes(encap["content"].contents)
        lds = _LDSSecurityObject.load(content, strict=True)
        lds_hash = lds["hash_algorithm"]["algorithm"].native
        expected = {int(g["data_group_number"].native): bytes(g["data_group_hash_value"].native)
                    for g in lds["data_group_hash_values"]}
        if len(signed["signer_infos"]) != 1:
            raise _Failed("malformed")
        signer = signed["signer_infos"][0]
        attrs = signer["signed_attrs"]
        if not attrs:
            raise _Failed("malformed")
        values = {a["type"].native: a["values"][0].native for a in attrs}
        ds = _signer_certificate(signed, signer)
        signer_name = ds.subject.rfc4514_string()
        digest = signer["digest_algorithm"]["algorithm"].native
        if values.get("content_type") != LDS_SECURITY_OBJECT or "message_digest" not in values:
            raise _Failed("malformed", signer_name)
        if values["message_digest"] != _hash(digest, content):
            raise _Failed("bad_signature", signer_name)
        signed_attrs = attrs.dump()
        _verify_signature(ds, signer, b"\x31" + signed_attrs[1:])  # DER of the SET OF, as signed (RFC 5652, 5.4)
        when = values.get("signing_time")
        if not isinstance(when, dt.datetime):
            when = dt.datetime.now(dt.UTC)
        csca = _chain(ds, trust, when)
        issuer_name = csca.subject.rfc4514_string()
        matched = {f"DG{n}": n in expected and _hash(lds_hash, data) == expected[n]
                   for n, data in sorted(groups.items())}
        status = "valid" if all(matched.values()) else "hash_mismatch"
        return ChipCheck(status, signer_name, issuer_name, matched)
    except _Failed as failure:
        return ChipCheck(failure.status, failure.signer or signer_name, failure.issuer or issuer_name)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError):
        return ChipCheck("malformed", signer_name, issuer_name)
