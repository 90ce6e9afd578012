"""A second client on the kernel that JupyterLab started for a notebook: the Python side.

JupyterLab writes each kernel's connection file into the server's runtime folder; the test
connects to the same kernel (same namespace as the notebook's cells), loads `kernel_dump.py`
into a private dict there and asks it for the dashboards' state. Requests are sent silently
(no execution count, nothing shown in the page), and the state comes back through a file,
not through the notebook's output stream.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from jupyter_client import BlockingKernelClient

DUMP_SOURCE = Path(__file__).with_name("kernel_dump.py")
NAMESPACE = "_hv_browser_test"  # the kernel-side dict that holds kernel_dump's functions
REPLY_SECONDS = 60


class KernelError(AssertionError):
    pass


class KernelLink:
    """Run code in a notebook's kernel and read the dashboards' Python-side state."""

    def __init__(self, runtime_dir: Path, kernel: str, scratch: Path) -> None:
        connection = runtime_dir / f"kernel-{kernel}.json"
        if not connection.exists():
            raise KernelError(f"no connection file {connection}")
        self.client = BlockingKernelClient(connection_file=str(connection))
        self.client.load_connection_file()
        self.client.start_channels(iopub=False, stdin=False, hb=False)
        self.scratch = scratch
        source = DUMP_SOURCE.read_text()
        self.run(
            f"{NAMESPACE} = {{}}\nexec(compile({source!r}, 'kernel_dump.py', 'exec'), {NAMESPACE})"
        )

    def run(self, code: str) -> None:
        """Execute `code` silently; raise with the kernel's traceback if it fails."""
        msg_id = self.client.execute(code, silent=True, store_history=False)
        deadline = time.monotonic() + REPLY_SECONDS
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KernelError(
                    f"no reply from the kernel within {REPLY_SECONDS} s to {code[:80]!r}"
                )
            reply = self.client.get_shell_msg(timeout=remaining)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content["status"] != "ok":
            traceback = "\n".join(content.get("traceback", []))
            raise KernelError(
                f"kernel error on {code[:80]!r}: {content.get('ename')}: "
                f"{content.get('evalue')}\n{traceback}"
            )

    def dump(self, probe: bool = False, figures: bool = True) -> dict[str, Any]:
        """Every dashboard's control values, status text and (if `figures`) traces."""
        path = self.scratch / "dump.json"
        self.run(
            f"{NAMESPACE}['dump'](globals(), {str(path)!r}, probe={probe!r}, figures={figures!r})"
        )
        return json.loads(path.read_text())

    def close(self) -> None:
        self.client.stop_channels()
