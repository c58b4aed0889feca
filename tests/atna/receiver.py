"""A real Audit Record Repository stand-in: Debian's rsyslogd with a configuration of its own.

It listens on loopback for syslog over plain TCP (imtcp), TLS (imtcp with the gtls stream
driver of rsyslog-gnutls, client certificates required: IHE ATNA's mutual authentication) and UDP
(imudp), parses each message as RFC 5424 and writes one JSON line per message with what rsyslog
parsed (PRI, version, APP-NAME, MSGID) and the MSG, for the tests to check.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.net import free_port
from tests.support.tools import require_tool

RSYSLOGD = "/usr/sbin/rsyslogd"
GTLS = Path("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so")

TEMPLATE = ('{"pri":"%pri%","version":"%protocol-version%","app":"%app-name%","msgid":"%msgid%",'
            '"input":"%inputname%","msg":"%msg:::json%"}\\n')


@dataclass
class Receiver:
    folder: Path
    ca: Path
    cert: Path
    key: Path
    tcp_port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    udp_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def out(self) -> Path:
        return self.folder / "received.jsonl"

    def config(self) -> str:
        work = self.folder / "work"
        work.mkdir(exist_ok=True)
        template = TEMPLATE.replace('"', '\\"')
        return f'''
global(workDirectory="{work}" maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off"
       defaultNetstreamDriverCAFile="{self.ca}" defaultNetstreamDriverCertFile="{self.cert}"
       defaultNetstreamDriverKeyFile="{self.key}")
module(load="imtcp" maxSessions="20")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}" name="tcp")
input(type="imtcp" address="127.0.0.1" port="{self.tls_port}" name="tls" streamDriver.name="gtls"
      streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
input(type="imudp" address="127.0.0.1" port="{self.udp_port}" name="udp")
template(name="audit" type="string" string="{template}")
action(type="omfile" file="{self.out}" template="audit")
'''

    def start(self) -> None:
        require_tool(RSYSLOGD)
        conf = self.folder / "rsyslog.conf"
        conf.write_text(self.config(), encoding="utf-8")
        check = subprocess.run([RSYSLOGD, "-N1", "-f", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr + check.stdout
        log = (self.folder / "rsyslogd.log").open("ab")
        self.proc = subprocess.Popen([RSYSLOGD, "-n", "-f", str(conf), "-i", str(self.folder / "rsyslogd.pid")],
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not all(self._listening(p) for p in (self.tcp_port, self.tls_port)):
            assert self.proc.poll() is None, (self.folder / "rsyslogd.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "rsyslogd did not listen"
            time.sleep(0.05)

    @staticmethod
    def _listening(port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None

    def messages(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text(encoding="utf-8").splitlines() if line.strip()]


def available() -> bool:
    return shutil.which(RSYSLOGD) is not None and GTLS.exists()
