"""systemd's sd_notify protocol: READY, WATCHDOG, STATUS and STOPPING datagrams.

Under `Type=notify` systemd sets NOTIFY_SOCKET; elsewhere every call is a
no-op. The protocol is one datagram per message on a Unix socket, so it is
written here (a dozen lines) rather than pulling in libsystemd bindings.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends sd_notify messages when systemd asked for them (NOTIFY_SOCKET set)."""

    def __init__(self, address: str | None = None) -> None:
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace socket
            address = "\0" + address[1:]
        self.address = address or None
        self._sock: socket.socket | None = None
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, *lines: str) -> None:
        """Send `KEY=value` lines; errors are ignored (systemd may be gone at shutdown)."""
        if self._sock is None or self.address is None:
            return
        try:
            self._sock.sendto("\n".join(lines).encode(), self.address)
        except OSError:
            pass

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}")

    def watchdog(self) -> None:
        self.send("WATCHDOG=1")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def stopping(self, status: str) -> None:
        self.send("STOPPING=1", f"STATUS={status}")
