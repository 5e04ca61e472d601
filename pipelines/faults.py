"""Fault injection at named points of a run, for the reliability tests.

``FUSION_FAULT_AT=<point>`` makes the process fail at that point; unset (the
normal case) :func:`checkpoint` is one environment lookup and nothing else.
``FUSION_FAULT_ACTION`` says how (default ``kill``):

- ``kill``: SIGKILL itself; no ``finally``, no cleanup, like the OOM killer.
- ``stop``: SIGSTOP itself, holding whatever it holds (the warehouse lock),
  until the test sends SIGCONT.
- ``enospc`` / ``eacces``: raise the ``OSError`` a full disk or a permission
  problem would raise there.

Points: ``after:<asset>`` when an asset has computed its output (e.g.
``after:source_crm``, ``after:match_result``), and inside publishing
(:mod:`pipelines.warehouse`): ``publish:start``, ``publish:delta_commit`` (the
first table's new Delta version committed, no release naming it yet),
``publish:mid_write`` (some tables of the release written), ``publish:written``
(release complete in its staging folder), ``publish:renamed`` (release in place, ``current`` not yet
swapped), ``publish:swapped`` (``current`` swapped, run not yet logged), and
``run_log:append``.

Example:
    FUSION_FAULT_AT=publish:renamed fusion run --config c.yaml --warehouse wh  # dies with -9
"""

from __future__ import annotations

import errno
import os
import signal

FAULT_AT = "FUSION_FAULT_AT"
FAULT_ACTION = "FUSION_FAULT_ACTION"
ACTIONS = ("kill", "stop", "enospc", "eacces")


class FaultSpecError(ValueError):
    """FUSION_FAULT_ACTION names no known action (a typo in a test)."""


def checkpoint(point: str) -> None:
    """Fail here if ``FUSION_FAULT_AT`` names this point; otherwise do nothing."""
    if os.environ.get(FAULT_AT) != point:
        return
    action = os.environ.get(FAULT_ACTION, "kill")
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    elif action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), point)
    elif action == "eacces":
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), point)
    else:
        msg = f"{FAULT_ACTION}={action!r}: expected one of {', '.join(ACTIONS)}"
        raise FaultSpecError(msg)
