"""A test PKI made with openssl: our CA with a server and a client certificate, and an untrusted CA with its own."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tools import require_tool


@dataclass(frozen=True)
class Pair:
    key: Path
    cert: Path


@dataclass(frozen=True)
class Certs:
    ca: Path  # our CA
    server: Pair  # 127.0.0.1 / localhost, signed by ca
    client: Pair  # signed by ca
    other_ca: Path  # a CA nobody trusts
    other_client: Pair  # signed by other_ca
    other_server: Pair  # 127.0.0.1 / localhost, signed by other_ca


def openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    key, cert = folder / f"{name}.key", folder / f"{name}.pem"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, cert


def make_leaf(folder: Path, name: str, ca: tuple[Path, Path], serial: int) -> Pair:
    key, csr, cert, ext = (folder / f"{name}{s}" for s in (".key", ".csr", ".pem", ".ext"))
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-set_serial", str(serial), "-days", "2",
             "-out", cert, "-extfile", ext)
    return Pair(key, cert)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    require_tool("openssl")
    d = tmp_path_factory.mktemp("pki")
    ca, other = make_ca(d, "Test CA"), make_ca(d, "Untrusted CA")
    return Certs(ca[1], make_leaf(d, "server", ca, 1), make_leaf(d, "client", ca, 2), other[1],
                 make_leaf(d, "stranger", other, 3), make_leaf(d, "impostor", other, 4))

