"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the messaging tests, with the misbehaviours a
real one has: refusing a recipient, failing for now, stalling, dropping the connection.

``server.behaviour(message_number, message)`` decides each DATA's answer; the default accepts.
Every message the server received is kept (``received``), with its Message-ID, whatever it
answered: a message the server got but never acknowledged is exactly what "in doubt" means.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import socket
import threading
import time
from collections import Counter

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command


class Received:
    def __init__(self, envelope):
        self.raw = envelope.content
        self.message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.message_id = str(self.message["Message-ID"])
        self.to = list(envelope.rcpt_tos)


class Handler:
    def __init__(self, server: MailServer):
        self.server = server

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.server.lock:
            self.server.connections += 1  # one EHLO per SMTP connection
            self.server.sessions.append(server)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.server.refuse_recipients.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.server.lock:
            self.server.received.append(Received(envelope))
            number = len(self.server.received)
        answer = self.server.behaviour(number, self.server.received[-1])
        if answer == "stall":
            await asyncio.sleep(self.server.stall_seconds)
            return "250 OK"
        if answer == "drop":
            server.transport.close()
            return "421 closing"
        return answer


class MailServer:
    def __init__(self):
        self.port = free_port()
        self.received: list[Received] = []
        self.connections = 0
        self.sessions = []  # the SMTP protocol of each connection, to drop them all
        self.lock = threading.Lock()
        self.refuse_recipients: dict[str, str] = {}
        self.stall_seconds = 5.0
        self.behaviour = lambda number, message: "250 OK"
        self.controller = Controller(Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> MailServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def restart_connections(self) -> None:
        """Close every open connection from the server's side, as a restarted server would."""
        with self.lock:
            sessions, self.sessions = self.sessions, []
        for session in sessions:
            self.controller.loop.call_soon_threadsafe(session.transport.close)
        time.sleep(0.2)  # the closes run on the server's loop

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(item.message_id for item in self.received)

    def count(self) -> int:
        with self.lock:
            return len(self.received)
