"""multipart/related bodies (RFC 2387) as PS3.18 8.6 uses them: written part by part for
WADO-RS, read for STOW-RS."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


def boundary() -> str:
    return "dicomweb-" + secrets.token_hex(12)


def content_type(part_type: str, mark: str, transfer_syntax: str = "") -> str:
    ts = f"; transfer-syntax={transfer_syntax}" if transfer_syntax else ""
    return f'multipart/related; type="{part_type}"; boundary={mark}{ts}'


def file_parts(files: Iterable[Path], part_type: str, mark: str) -> Iterator[bytes]:
    """Each file a part, streamed a chunk at a time (memory does not grow with the study)."""
    for path in files:
        yield f"--{mark}\r\nContent-Type: {part_type}\r\n\r\n".encode("ascii")
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk
        yield b"\r\n"
    yield f"--{mark}--\r\n".encode("ascii")


def byte_parts(parts: Iterable[bytes], part_type: str, mark: str) -> bytes:
    out = [f"--{mark}\r\nContent-Type: {part_type}\r\n\r\n".encode("ascii") + p + b"\r\n" for p in parts]
    return b"".join(out) + f"--{mark}--\r\n".encode("ascii")


@dataclass(frozen=True)
class Part:
    content_type: str
    body: bytes


def params(header: str) -> tuple[str, dict[str, str]]:
    """A Content-Type header's media type (lower case) and its parameters (names lower case)."""
    kind, *rest = header.split(";")
    out: dict[str, str] = {}
    for p in rest:
        name, eq, value = p.strip().partition("=")
        if eq:
            out[name.strip().lower()] = value.strip().strip('"')
    return kind.strip().lower(), out


def read_parts(body: bytes, mark: str) -> list[Part]:
    """The parts of a multipart body with boundary ``mark``; ValueError when it has none."""
    delimiter = b"\r\n--" + mark.encode("latin-1")
    pieces = (b"\r\n" + body).split(delimiter)  # pieces[0]: the preamble (RFC 2046 5.1.1), if any
    if len(pieces) < 2:
        raise ValueError("the body has no part with the boundary of its Content-Type")
    parts: list[Part] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            break  # the close delimiter
        _padding, _crlf, piece = piece.partition(b"\r\n")  # transport padding after the boundary
        piece = b"\r\n" + piece
        head, sep, data = piece.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("a part has no blank line after its headers")
        kind = ""
        for line in head.split(b"\r\n"):
            name, colon, value = line.decode("latin-1").partition(":")
            if colon and name.strip().lower() == "content-type":
                kind = value.strip()
        parts.append(Part(kind, data))
    return parts
