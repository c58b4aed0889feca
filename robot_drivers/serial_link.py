"""The RS-232 link to a serial autoloader (pyserial): one command, one reply, with timeouts.

A missing reply raises :class:`RobotTimeout` after ``timeout`` seconds, a reply
that is not printable ASCII raises :class:`ProtocolError`: never a hang.
"""
from __future__ import annotations

import time

import serial

from robot_drivers import errors
from robot_drivers.serial_protocol import CR


class SerialLink:
    """A command/reply channel over a serial port (or a pseudo-terminal)."""

    def __init__(self, port: str, baudrate: int = 9600, timeout: float = 2.0,
                 rtscts: bool = False) -> None:
        self.port_name = port
        self.timeout = timeout
        try:
            self.port = serial.Serial(port, baudrate=baudrate, bytesize=serial.EIGHTBITS,
                                      parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                                      timeout=0.05, rtscts=rtscts, xonxoff=False)
        except serial.SerialException as exc:
            raise errors.RobotOffline(f"cannot open serial port {port}: {exc}") from exc

    def command(self, data: bytes, timeout: float | None = None) -> str:
        """Send ``data``, return the reply line without CR."""
        self.port.reset_input_buffer()
        try:
            self.port.write(data)
            self.port.flush()
        except serial.SerialException as exc:
            raise errors.RobotOffline(f"{self.port_name}: write failed: {exc}") from exc
        return self._read_line(data, timeout if timeout is not None else self.timeout)

    def _read_line(self, sent: bytes, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        buf = b""
        while time.monotonic() < deadline:
            chunk = self.port.read(64)
            if chunk:
                buf += chunk
                if CR in buf:
                    line = buf.split(CR, 1)[0]
                    return self._decode(line, sent)
        what = f"garbled reply {buf!r}" if buf else "no reply"
        raise errors.RobotTimeout(f"{self.port_name}: {what} to {sent.strip()!r} "
                                  f"within {timeout:.2f}s", code="timeout")

    def _decode(self, line: bytes, sent: bytes) -> str:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if not text or not text.isprintable():
            raise errors.ProtocolError(f"{self.port_name}: garbled reply {line!r} to "
                                       f"{sent.strip()!r}")
        return text

    def close(self) -> None:
        self.port.close()
