"""The lab's certificate authority, serving certificates and secrets.

Everything is generated once into the state folder and reused by later `lab-up` runs,
so clients that trusted the CA keep trusting it.
"""

import datetime
import ipaddress
import os
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class LabPKI:
    """A CA in `<state>/pki` that signs the serving certificates of the lab's HTTPS services."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.ca_cert_path = os.path.join(directory, "ca.crt")
        self.ca_key_path = os.path.join(directory, "ca.key")
        if not os.path.exists(self.ca_cert_path):
            self._create_ca()
        with open(self.ca_key_path, "rb") as handle:
            self._ca_key = serialization.load_pem_private_key(handle.read(), password=None)
        with open(self.ca_cert_path, "rb") as handle:
            self._ca_cert = x509.load_pem_x509_certificate(handle.read())

    def _create_ca(self):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "odoo-saas lab CA")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(hours=1))
            .not_valid_after(_now() + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self.ca_key_path, _key_pem(key))
        with open(self.ca_cert_path, "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))

    def serving_cert(self, name, hosts):
        """Return (cert_path, key_path) for `name`, valid for the given DNS names and IPs."""
        alt_names = []
        for host in hosts:
            try:
                alt_names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                alt_names.append(x509.DNSName(host))
        return self._leaf(name, x509.oid.ExtendedKeyUsageOID.SERVER_AUTH, x509.SubjectAlternativeName(alt_names))

    def client_cert(self, name):
        """Return (cert_path, key_path) of a TLS client certificate whose common name is `name`."""
        return self._leaf(name, x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH)

    def _leaf(self, name, usage, alt_names=None):
        cert_path = os.path.join(self.dir, name + ".crt")
        key_path = os.path.join(self.dir, name + ".key")
        if os.path.exists(cert_path) and os.path.exists(key_path):
            return cert_path, key_path
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self._ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(hours=1))
            .not_valid_after(_now() + datetime.timedelta(days=3650))
        )
        if alt_names is not None:
            builder = builder.add_extension(alt_names, critical=False)
        cert = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()), critical=False
            )
            .sign(self._ca_key, hashes.SHA256())
        )
        _write_private(key_path, _key_pem(key))
        with open(cert_path, "wb") as handle:
            handle.write(cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, key_path

    def rsa_keypair(self, name):
        """Return (private_path, public_path) of an RSA key, for service-account token signing."""
        private_path = os.path.join(self.dir, name + ".key")
        public_path = os.path.join(self.dir, name + ".pub")
        if not os.path.exists(private_path):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            _write_private(private_path, _key_pem(key))
            with open(public_path, "wb") as handle:
                handle.write(
                    key.public_key().public_bytes(
                        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                    )
                )
        return private_path, public_path


class SecretStore:
    """Generated credentials, kept in `<state>/secrets` (mode 0600), stable across runs."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)

    def get(self, name, length=32):
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            _write_private(path, secrets.token_urlsafe(length)[:length].encode())
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()

    def get_bytes_b64(self, name, nbytes=64):
        """A base64 key, as Azure storage account keys are."""
        import base64

        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            _write_private(path, base64.b64encode(secrets.token_bytes(nbytes)))
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
