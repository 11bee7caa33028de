"""A small authoritative DNS server on loopback (UDP and TCP), dnspython as its codec.

Zone ``vigil.test`` below, plus names with behaviours: ``servfail.vigil.test``
answers SERVFAIL, ``refused.vigil.test`` REFUSED, ``silent.vigil.test`` is never
answered, a name outside the zone is NXDOMAIN, and ``big.vigil.test`` TXT is
too large for UDP: it is truncated there (TC flag) and served whole over TCP.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

UDP_LIMIT = 512
ZONE: dict[tuple[str, str], list[str]] = {
    ("www.vigil.test.", "A"): ["192.0.2.10", "192.0.2.11"],
    ("www.vigil.test.", "AAAA"): ["2001:db8::10"],
    ("alias.vigil.test.", "CNAME"): ["www.vigil.test."],
    ("vigil.test.", "MX"): ["10 mail.vigil.test.", "20 backup.vigil.test."],
    ("vigil.test.", "TXT"): ['"v=spf1 -all"', '"hello" " world"'],
    ("vigil.test.", "NS"): ["ns1.vigil.test."],
    ("vigil.test.", "SOA"): [
        "ns1.vigil.test. hostmaster.vigil.test. 2026112801 7200 3600 1209600 300"
    ],
    ("big.vigil.test.", "TXT"): [f'"{"x" * 200}-{i}"' for i in range(10)],
    ("weird.vigil.test.", "TXT"): ['"\\027[31mred\\000' + "y" * 200 + '"'],
}
NAMES = {name for name, _ in ZONE}
RCODES = {"servfail.vigil.test.": dns.rcode.SERVFAIL, "refused.vigil.test.": dns.rcode.REFUSED}


def answer(query: dns.message.Message, *, udp: bool) -> bytes | None:
    """The wire response to ``query``, or None to stay silent."""
    question = query.question[0]
    name, rdtype = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
    if name == "silent.vigil.test.":
        return None
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    if name in RCODES:
        response.set_rcode(RCODES[name])
    elif name not in NAMES:
        response.set_rcode(dns.rcode.NXDOMAIN)
    else:
        cname = ZONE.get((name, "CNAME"))
        if cname and rdtype != "CNAME":  # follow the alias, as a resolver would
            response.answer.append(dns.rrset.from_text(name, 300, "IN", "CNAME", *cname))
            name = cname[0]
        values = ZONE.get((name, rdtype))
        if values:
            response.answer.append(dns.rrset.from_text(name, 300, "IN", rdtype, *values))
    wire = response.to_wire()
    if udp and len(wire) > UDP_LIMIT:
        response.answer = []
        response.flags |= dns.flags.TC
        wire = response.to_wire()
    return wire


class DnsServer:
    """UDP and TCP on one loopback port; ``queries`` counts them by transport."""

    def __init__(self, host: str = "127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for _ in range(20):  # a port free for both UDP and TCP
            self.udp = socket.socket(family, socket.SOCK_DGRAM)
            self.udp.bind((host, 0))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(family, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
        self.tcp.listen(16)
        # the serving threads wake up this often to see whether the server was closed
        self.udp.settimeout(0.1)
        self.tcp.settimeout(0.1)
        self.host = host
        self.queries: Counter[str] = Counter()
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._serve_tcp, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def _serve_udp(self) -> None:
        while not self._closed.is_set():
            try:
                data, peer = self.udp.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.queries["udp"] += 1
            wire = answer(dns.message.from_wire(data), udp=True)
            if wire is not None:
                self.udp.sendto(wire, peer)

    def _serve_tcp(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(2)
            with conn:
                try:
                    size = struct.unpack("!H", _read(conn, 2))[0]
                    query = dns.message.from_wire(_read(conn, size))
                except (OSError, struct.error, dns.exception.DNSException):
                    continue
                self.queries["tcp"] += 1
                wire = answer(query, udp=False)
                if wire is not None:
                    conn.sendall(struct.pack("!H", len(wire)) + wire)

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join(2)
        for sock in (self.udp, self.tcp):
            with contextlib.suppress(OSError):
                sock.close()


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data
