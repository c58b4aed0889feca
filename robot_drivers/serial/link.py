"""The RS-232 link to a serial autoloader (pyserial): bytes out, one reply back, with timeouts.

The generic command set has no line terminator (:mod:`robot_drivers.serial.protocol`): a move
answers exactly one character, so :meth:`SerialLink.ask_char` reads one byte; the version and
status replies have no fixed length, so :meth:`SerialLink.ask_text` reads until the line has
been quiet for ``reply_gap`` seconds after the first byte (a CR or LF some units add is
dropped). A missing reply raises :class:`RobotTimeout` after its timeout; bytes that are not
printable ASCII raise :class:`ProtocolError`: never a hang, never a guess.
"""
from __future__ import annotations

import time

import serial

from robot_drivers import errors

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


class SerialLink:
    """A command/reply channel over a serial port (or a pseudo-terminal)."""

    def __init__(self, port: str, baudrate: int = 9600, timeout: float = 2.0, *,
                 parity: str = "N", rtscts: bool = False, reply_gap: float = 0.1,
                 max_reply: int = 64) -> None:
        self.port_name = port
        self.timeout = timeout
        self.reply_gap = reply_gap
        self.max_reply = max_reply
        if parity not in PARITIES:
            raise ValueError(f"serial parity {parity!r}: one of {', '.join(PARITIES)}")
        try:
            self.port = serial.Serial(port, baudrate=baudrate, bytesize=serial.EIGHTBITS,
                                      parity=PARITIES[parity], stopbits=serial.STOPBITS_ONE,
                                      timeout=0.02, rtscts=rtscts, xonxoff=False)
        except serial.SerialException as exc:
            raise errors.RobotOffline(f"cannot open serial port {port}: {exc}") from exc

    def _send(self, data: bytes) -> None:
        self.port.reset_input_buffer()  # stale bytes never pair with this command
        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialException as exc:
            raise errors.RobotOffline(f"{self.port_name}: write failed: {exc}") from exc

    def ask_char(self, data: bytes, timeout: float | None = None) -> str:
        """Send ``data``; return the one-character reply."""
        self._send(data)
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            byte = self.port.read(1)
            if byte:
                return self._decode(byte, data)
        raise errors.RobotTimeout(f"{self.port_name}: no reply to {data!r} within {wait:.2f}s", code="timeout")

    def ask_text(self, data: bytes, timeout: float | None = None) -> str:
        """Send ``data``; return the reply, read until the line is quiet for ``reply_gap``."""
        self._send(data)
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        buf = b""
        last = 0.0
        while True:
            now = time.monotonic()
            if buf and now - last >= self.reply_gap or len(buf) >= self.max_reply:
                break
            if not buf and now >= deadline:
                raise errors.RobotTimeout(f"{self.port_name}: no reply to {data!r} within {wait:.2f}s",
                                          code="timeout")
            chunk = self.port.read(self.max_reply - len(buf))
            if chunk:
                buf += chunk
                last = time.monotonic()
        return self._decode(buf.strip(b"\r\n"), data)

    def _decode(self, reply: bytes, sent: bytes) -> str:
        try:
            text = reply.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if not text or not text.isprintable():
            raise errors.ProtocolError(f"{self.port_name}: garbled reply {reply!r} to {sent!r}")
        return text

    def close(self) -> None:
        self.port.close()
