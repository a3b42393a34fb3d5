"""Re-execute notebooks in place, top to bottom, each in a fresh kernel.

Usage: python -m tools.execute_notebooks notebooks/01_gelu.ipynb [...]

Runs with the working directory set to the notebook's folder (as JupyterLab
does) and the kernel of this Python, so the stored outputs are the ones nbval
will compare against.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from traitlets import Type

KERNEL_NAME = "python3"
# The longest a missed wake-up could cost. tools.soak sets it huge, so that a miss shows as a
# wait of the whole cell timeout (what the guard would otherwise absorb).
POLL_SLICE_S = float(os.environ.get("SHORTCUT_POLL_SLICE_S", "1.0"))


class _SendThroughAsyncio:
    """Hands Session.send's frames to the asyncio socket itself, not to a blocking shadow."""

    def __init__(self, socket) -> None:
        self.socket = socket

    def send_multipart(self, parts, copy: bool = True) -> None:
        self.socket.send_multipart(parts, copy=copy)  # done at once unless the peer is full


class WakeSafeChannel(AsyncZMQSocketChannel):
    """A kernel channel whose waits cannot miss the reply they wait for.

    The stall this prevents (upstream: jupyter_client 8.10 with pyzmq 27): while
    nbclient waits for a cell's ``execute_reply`` (an asyncio poll on the shell socket),
    its Output-widget mimic answers the kernel's widget messages by sending a
    ``comm_msg`` on that same shell socket. ``Session.send`` sends through a blocking
    ``zmq.Socket.shadow`` of the asyncio socket; libzmq's send processes the socket's
    pending commands, which consumes the (edge-like) ZMQ_FD signal that the reply had
    raised, and nothing tells pyzmq's asyncio socket to look again. The poll then sleeps
    until its timeout (the whole cell timeout), finds the reply and goes on: a cell that
    passes after 300 s. ``tests/test_notebook_client.py`` reproduces it with two sockets.

    Fix: ``send`` goes through the asyncio socket's own ``send_multipart``, which re-checks
    the socket's events after sending and wakes any waiter. Guard: every wait is cut into
    ``POLL_SLICE_S`` slices (each ends with a look at the socket), so a wake-up missed for
    any other reason costs at most a slice, never a cell timeout. ``make soak`` runs with
    the guard off, so the fix itself is what it tests.
    """

    def send(self, msg: dict) -> None:
        self.session.send(_SendThroughAsyncio(self.socket), msg)

    async def get_msg(self, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_SLICE_S if deadline is None else max(0.0, deadline - time.monotonic())
            step = min(POLL_SLICE_S, left)
            if await self.socket.poll(int(step * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty


class WakeSafeKernelClient(AsyncKernelClient):
    """jupyter_client's asyncio kernel client with :class:`WakeSafeChannel` channels."""

    shell_channel_class = Type(WakeSafeChannel)
    iopub_channel_class = Type(WakeSafeChannel)
    stdin_channel_class = Type(WakeSafeChannel)
    control_channel_class = Type(WakeSafeChannel)


class LessonClient(NotebookClient):
    """nbclient's NotebookClient talking to the kernel through :class:`WakeSafeKernelClient`.

    Set on the kernel manager, so both of nbclient's paths get it: ``execute()`` and
    ``setup_kernel()`` + ``execute_cell()`` (whose sync wrappers call the base class's
    coroutines, so overriding ``async_start_new_kernel_client`` covers only the first).
    """

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.client_factory = WakeSafeKernelClient
        return km


def execute(path: Path, timeout: int = 600) -> float:
    """Execute ``path`` in place and return the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    LessonClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    ).execute()
    elapsed = time.perf_counter() - start
    # How a cell's prints arrive in messages depends on timing (a loaded machine splits one
    # print's lines over several), and each message is its own output block: a deck would show
    # one cell's text as several boxes (a slide grew 7 px past the canvas). Join them.
    CoalesceStreamsPreprocessor().preprocess(nb, {})
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": KERNEL_NAME,
    }
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        path = Path(name)
        if not path.is_file():
            print(f"no such notebook: {name}", file=sys.stderr)
            return 2
        print(f"{path}: executed in {execute(path):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
