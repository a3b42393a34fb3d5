"""Re-execute notebooks in place, top to bottom, each in a fresh kernel.

Usage: python -m tools.execute_notebooks notebooks/01_gelu.ipynb [...]

Runs with the working directory set to the notebook's folder (as JupyterLab
does) and the kernel of this Python, so the stored outputs are the ones nbval
will compare against.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient

KERNEL_NAME = "python3"


class SlicedPollingClient(NotebookClient):
    """A NotebookClient that waits for kernel replies in one-second slices.

    After a widget cell, the async wait for a cell's reply intermittently misses its
    wake-up and sits out the whole cell timeout (seen in ~half the runs of lesson 02
    under load; cf. nbclient issue #312). Polling in slices bounds that to a second.
    """

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        get_msg = client.shell_channel.get_msg

        async def sliced_get_msg(timeout: float | None = None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                step = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
                try:
                    return await get_msg(timeout=step)
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        client.shell_channel.get_msg = sliced_get_msg
        return client


def execute(path: Path, timeout: int = 600) -> float:
    """Execute ``path`` in place and return the wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    SlicedPollingClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    ).execute()
    elapsed = time.perf_counter() - start
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
