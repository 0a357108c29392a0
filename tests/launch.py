"""Start a long-running command (scripts/run.py) in a test, read its output, stop its whole tree."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import psutil


class Launched:
    """A child process whose combined output is collected line by line in the background."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._seen: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self.lines.append(raw.decode(errors="replace"))

    def output(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def wait_for_line(self, text: str, timeout_s: float, after: int = 0) -> int:
        """Wait until a line (at index >= ``after``) contains ``text``; returns its index."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                for index in range(after, len(self.lines)):
                    if text in self.lines[index]:
                        return index
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode} before {text!r}:\n{self.output()[-3000:]}")
            self._remember_children()
            time.sleep(0.2)
        raise AssertionError(f"no line with {text!r} within {timeout_s}s:\n{self.output()[-3000:]}")

    def _remember_children(self) -> None:
        for child in descendants(self.proc.pid):
            self._seen.setdefault(child.pid, child)

    def kill_group(self) -> None:
        """Kill the process and every descendant it was seen with (test teardown)."""
        self._remember_children()
        for child in (
            [psutil.Process(self.proc.pid), *self._seen.values()]
            if self.proc.poll() is None
            else list(self._seen.values())
        ):
            try:
                if child.is_running():  # psutil checks the pid was not reused since
                    child.kill()
            except psutil.Error:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def launch(args: list[str], env: dict[str, str], cwd: Path) -> Launched:
    proc = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Launched(proc)
