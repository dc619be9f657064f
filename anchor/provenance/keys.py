"""Signing keys: a local CA + an ES256 signing certificate (`anchor keys init`), or a configured chain.

Layout of the keys directory (private files mode 600, the directory 700):

    ca.pem          the local CA certificate: the trust anchor `anchor verify` uses
    ca.key          the CA's private key (kept to issue a new signing certificate later)
    signer.pem      the signing certificate (the chain c2pa embeds in every manifest)
    signer.key      its ES256 (P-256) private key
    watermark.key   32 random bytes: the secret that keys the pixel watermark
    issuer.txt      the issuer name the certificates were made for

A newsroom with its own PKI sets `provenance.cert_chain` / `provenance.private_key` (and adds
its root to `provenance.trust_anchors`) instead; the watermark key still lives here.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from anchor.errors import InputError

CA_CERT, CA_KEY = "ca.pem", "ca.key"
SIGNER_CERT, SIGNER_KEY = "signer.pem", "signer.key"
WATERMARK_KEY = "watermark.key"
ISSUER_FILE = "issuer.txt"
CA_YEARS, SIGNER_YEARS = 20, 5


@dataclass(frozen=True)
class SigningIdentity:
    """What signing and verifying need: the PEM chain and key, trust anchors, the watermark key."""

    cert_chain: bytes
    private_key: bytes
    trust_anchors: bytes
    watermark_key: bytes
    issuer: str


def _write_private(path: Path, data: bytes) -> None:
    """Create `path` with mode 600 from the start (never briefly world-readable)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _check_private(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"missing {path}; run `anchor keys init` (or configure provenance keys)", field="keys")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InputError(f"{path} is readable by other users (mode {mode:o}); run chmod 600 {path}", field="keys")
    return path.read_bytes()


def init_keys(keys_dir: Path, issuer: str, *, force: bool = False) -> list[Path]:
    """Make a local CA, an ES256 signing certificate and a watermark key under `keys_dir`.

    Refuses to overwrite existing keys unless `force` (replacing keys makes earlier outputs
    unverifiable against the new CA: keep the old ca.pem as an extra trust anchor).
    Returns the files written.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if not issuer.strip():
        raise InputError("the issuer name must not be empty", field="issuer")
    keys_dir = Path(keys_dir)
    existing = [keys_dir / n for n in (CA_CERT, SIGNER_CERT, SIGNER_KEY, WATERMARK_KEY) if (keys_dir / n).exists()]
    if existing and not force:
        raise InputError(f"keys already exist in {keys_dir}; pass --force to replace them", field="keys")
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)

    def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=not cert_sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=cert_sign,
            crl_sign=cert_sign,
            encipher_only=False,
            decipher_only=False,
        )

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{issuer} provenance CA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{issuer} anchor signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, issuer),
        ]
    )
    # c2pa requires an end-entity certificate (not self-signed) with digitalSignature and
    # an allowed extended key usage (emailProtection is one), plus authority/subject key ids.
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    nokey = serialization.NoEncryption()
    (keys_dir / CA_CERT).write_bytes(ca.public_bytes(pem))
    _write_private(keys_dir / CA_KEY, ca_key.private_bytes(pem, pkcs8, nokey))
    (keys_dir / SIGNER_CERT).write_bytes(leaf.public_bytes(pem))
    _write_private(keys_dir / SIGNER_KEY, key.private_bytes(pem, pkcs8, nokey))
    if force or not (keys_dir / WATERMARK_KEY).exists():
        _write_private(keys_dir / WATERMARK_KEY, secrets.token_bytes(32))
    (keys_dir / ISSUER_FILE).write_text(issuer + "\n", encoding="utf-8")
    return [keys_dir / n for n in (CA_CERT, CA_KEY, SIGNER_CERT, SIGNER_KEY, WATERMARK_KEY, ISSUER_FILE)]


def keys_exist(keys_dir: Path) -> bool:
    """True when `anchor keys init` has run in `keys_dir`."""
    return all((Path(keys_dir) / n).is_file() for n in (CA_CERT, SIGNER_CERT, SIGNER_KEY, WATERMARK_KEY))


def load_identity(
    keys_dir: Path,
    issuer: str,
    *,
    cert_chain: Path | None = None,
    private_key: Path | None = None,
    trust_anchors: list[Path] | tuple[Path, ...] = (),
) -> SigningIdentity:
    """Read the signing identity: the configured chain and key if given, else the local CA's.

    Trust anchors are the local ca.pem (if present) plus every configured anchor file.
    InputError names the missing or too-open file.
    """
    keys_dir = Path(keys_dir)
    if (cert_chain is None) != (private_key is None):
        raise InputError("configure both provenance.cert_chain and provenance.private_key, or neither", field="keys")
    chain_path = Path(cert_chain) if cert_chain else keys_dir / SIGNER_CERT
    key_path = Path(private_key) if private_key else keys_dir / SIGNER_KEY
    if not chain_path.is_file():
        raise InputError(f"missing {chain_path}; run `anchor keys init` (or configure provenance keys)", field="keys")
    anchors = b""
    for p in [keys_dir / CA_CERT, *map(Path, trust_anchors)]:
        if p.is_file():
            anchors += p.read_bytes().strip() + b"\n"
        elif p != keys_dir / CA_CERT:
            raise InputError(f"trust anchor file {p} does not exist", field="trust_anchors")
    return SigningIdentity(
        cert_chain=chain_path.read_bytes(),
        private_key=_check_private(key_path),
        trust_anchors=anchors,
        watermark_key=load_watermark_key(keys_dir),
        issuer=issuer,
    )


def load_watermark_key(keys_dir: Path) -> bytes:
    """The 32-byte watermark key from `keys_dir` (InputError if missing or readable by others)."""
    data = _check_private(Path(keys_dir) / WATERMARK_KEY)
    if len(data) < 16:
        raise InputError(f"{Path(keys_dir) / WATERMARK_KEY} is too short to be a watermark key", field="keys")
    return data
