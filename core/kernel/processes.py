"""Which process holds a lease: an identity per running process, and telling when its holder is gone.

An identity is "host:pid:token". A lease held by a process on this host is known to be dead when
its pid no longer runs, or when it is our own pid under another token (a restarted container
often gets the same pid). A lease held on another host is left to run out: we cannot look.
"""

from __future__ import annotations

import os
import secrets
import socket

HOST = socket.gethostname().replace(":", "-")


def _new_identity() -> str:
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"


THIS_PROCESS = _new_identity()


def is_gone(identity: str) -> bool:
    """True only when the holder certainly no longer runs."""
    host, _, rest = identity.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdecimal():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return identity != THIS_PROCESS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False
