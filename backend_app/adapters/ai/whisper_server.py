"""The transcriber process: Whisper base loaded once, serving a worker's jobs over a Unix socket.

Why a process of its own: once a CTranslate2 model is loaded in a process, CTranslate2 cannot be
used in a fork of it (measured here with ctranslate2 4.8.5: the forked child's first encode
waits forever on the parent's thread pool, and a new model in the child aborts with
``std::system_error``). RQ runs each job in a forked horse, so ``speech.warm()`` starts this
process before the worker forks: it loads the model once and every horse asks it over the socket.

It is run by path (``python whisper_server.py MODEL_DIR SOCKET``), not as ``-m backend_app…``, so it
imports neither Flask nor the app: only the standard library, numpy, PyAV and faster-whisper.
It prints ``ready`` once listening and ends when its standard input closes (the worker ended).

Protocol: one JSON line per connection ``{"path", "language", "budget_s"}``; the answer is JSON
lines ``{"segment": {start_s, end_s, text, language}}`` as they are found, then ``{"done": {…}}``
or ``{"error": "…"}``. A client that hangs up stops the work at the next segment.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time

SAMPLE_RATE = 16_000
# Two threads, not one: the transcript outlasts the decode pass, and after the pass one thread left the
# second core idle (2 cores, quiet, narrated bench minute: speech 12.3 -> 8.6 s, the whole analysis
# 14.8 -> 11.3 s; the pass itself slows by ~0.3 s). A worker runs one job at a time.
THREADS = max(1, min(2, os.cpu_count() or 1))
BEAM_SIZE = 1  # greedy (with temperature fallback): ~the same words here as beam 5, less decoding
# An unknown language is detected on up to this many passages spread over the video, each at
# least this long (Whisper hears a language poorly in a second of speech).
LANGUAGE_SAMPLES = 3
LANGUAGE_SAMPLE_MIN_S = 2.0
_served = 0


def pcm16k(path: str, limit_s: float | None = None):
    """The first audio stream of ``path`` as 16 kHz mono float32 (numpy), decoded by PyAV; None
    when the file has no audio stream. ``limit_s`` stops decoding after that many seconds."""
    import av
    import numpy as np

    with av.open(path, metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        pieces, count = [], 0
        for frame in container.decode(stream):
            frame.pts = None  # the resampler keeps its own clock; a gap in the source's pts is no error
            for out in resampler.resample(frame):
                pieces.append(out.to_ndarray().reshape(-1))
                count += pieces[-1].size
            if limit_s is not None and count >= limit_s * SAMPLE_RATE:
                break
        for out in resampler.resample(None):
            pieces.append(out.to_ndarray().reshape(-1))
    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return (np.concatenate(pieces).astype(np.float32) / 32768.0)[: int(limit_s * SAMPLE_RATE) if limit_s else None]


def load(model_dir: str):
    """Whisper from ``model_dir`` (a directory: faster-whisper never asks a hub for one), int8 on THREADS
    CPU threads; and the Silero VAD model faster-whisper ships."""
    from faster_whisper import WhisperModel
    from faster_whisper.vad import get_vad_model

    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=THREADS, local_files_only=True)
    model.model = _Heard(model.model)
    get_vad_model()
    return model


class _Heard:
    """CTranslate2's Whisper, recording the language its last detection heard: with
    ``multilingual=True`` faster-whisper detects each 30 s window's language from the encoder
    output it transcribes from (one encoder run, not two), but reports only the language it was
    given; this is how a passage's own language is known then."""

    def __init__(self, inner):
        self._inner = inner
        self.last: str | None = None

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def detect_language(self, *args, **kwargs):
        results = self._inner.detect_language(*args, **kwargs)
        self.last = results[0][0][0][2:-2]  # "<|de|>" -> "de"
        return results


def transcribe(model, path: str, language: str | None, budget_s: float):
    """Events for one video, stopping when ``budget_s`` seconds of this process's CPU time (every
    thread's; one job at a time) are spent, saying how far it got. CPU, not wall time: on a busy
    machine the same work takes longer but costs the same.

    A known ``language``: one pass over the speech the VAD keeps (faster-whisper's ``vad_filter``),
    ~0.15 s of CPU per second of speech here. Unknown: the language is detected on a few passages
    spread over the video (``sample_passages``, one encoder run each); when they agree, the one
    pass with that language. When they disagree, each passage (speech separated by 2 s of silence)
    is transcribed on its own with its own language, so a video that switches language gets each
    passage right: one encoder run over a 30 s window per passage (the language detected from the
    run that transcribes it, ``_Heard``; the sampled ones' detection reused), ~0.4 s of CPU per
    second of speech here (docs/benchmarks.md)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spent = _cpu_clock()
    audio = pcm16k(path)
    if audio is None:
        yield {"done": {"audio_s": 0.0, "transcribed_s": 0.0, "complete": True, "note": "no audio track"}}
        return
    audio_s = round(audio.size / SAMPLE_RATE, 2)
    detection: dict = {}
    known: dict[int, str] = {}  # passage start -> its detected language
    if language:
        passages = [{"start": 0, "end": audio.size, "vad": True}]
    else:
        passages = get_speech_timestamps(audio, VadOptions())
        for passage in sample_passages(passages):
            found, _probability, _all = model.detect_language(audio=audio[passage["start"] : passage["end"]])
            known[passage["start"]] = found
        heard = sorted(set(known.values()))
        detection = {"sampled": len(known), "languages": heard, "one_pass": len(heard) == 1}
        if len(heard) == 1:  # one language heard: transcribe all the speech in one pass with it
            language = heard[0]
            passages = [{"start": 0, "end": audio.size, "vad": True}]
    done_s, complete = 0.0, True
    for passage in passages:
        if spent() > budget_s:
            complete = False
            break
        offset = passage["start"] / SAMPLE_RATE
        given = language or known.get(passage["start"])
        # a passage of unknown language: detected from the encoder run that transcribes it
        heard_here = given is None and isinstance(model.model, _Heard)
        segments, info = model.transcribe(
            audio[passage["start"] : passage["end"]],
            language=given or ("en" if heard_here else None),
            multilingual=heard_here,
            beam_size=BEAM_SIZE,
            vad_filter=passage.get("vad", False),  # a passage is speech already (VAD above)
            condition_on_previous_text=False,  # a small model repeats itself less
        )
        for segment in segments:
            text = segment.text.strip()
            if text:
                yield {
                    "segment": {
                        "start_s": round(offset + segment.start, 2),
                        "end_s": round(offset + segment.end, 2),
                        "text": text,
                        "language": (model.model.last if heard_here else None) or info.language,
                    }
                }
            done_s = offset + segment.end
            if spent() > budget_s:
                complete = False
                break
        if not complete:
            break
        done_s = passage["end"] / SAMPLE_RATE
    yield {
        "done": {
            "audio_s": audio_s,
            "transcribed_s": round(audio_s if complete else done_s, 2),
            "complete": complete,
            "passages": len(passages),
            "detection": detection,
            "seconds": round(spent(), 3),
        }
    }


def sample_passages(passages: list[dict], most: int = LANGUAGE_SAMPLES) -> list[dict]:
    """Up to ``most`` passages spread over the video (first, middle, last) to detect the language
    on, in time order: those of at least LANGUAGE_SAMPLE_MIN_S first, then the longest of the rest
    (so a short passage in another language is still heard when there are few passages)."""
    long_enough = [p for p in passages if p["end"] - p["start"] >= LANGUAGE_SAMPLE_MIN_S * SAMPLE_RATE]
    if len(long_enough) > most:
        picks = sorted({round(i * (len(long_enough) - 1) / (most - 1)) for i in range(most)})
        long_enough = [long_enough[i] for i in picks]
    rest = sorted((p for p in passages if p not in long_enough), key=lambda p: p["start"] - p["end"])
    return sorted(long_enough + rest[: most - len(long_enough)], key=lambda p: p["start"])


def _cpu_clock():
    """Seconds of CPU this process has used since the call (all threads: CTranslate2's, ONNX Runtime's)."""
    started = time.process_time()
    return lambda: time.process_time() - started


def _serve(conn: socket.socket, model) -> None:
    global _served
    with conn, conn.makefile("rb") as reader:
        try:
            line = reader.readline().strip()
            if not line:  # a client checking that the process is there
                return
            request = json.loads(line)
            _served += 1
            for event in transcribe(model, request["path"], request.get("language"), float(request["budget_s"])):
                if "done" in event:
                    event["done"].update(pid=os.getpid(), served=_served)
                conn.sendall(json.dumps(event).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):  # the client stopped waiting
            return
        except Exception as exc:  # the client reports it; the process serves the next job
            try:
                conn.sendall(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}).encode() + b"\n")
            except OSError:
                pass


def _end_with_parent() -> None:
    """Exit when standard input closes: the worker (and every horse) that could ask has ended."""
    while os.read(0, 4096):  # the raw descriptor: a buffered reader's lock, held by this daemon
        pass  # thread, turned a failed start into "Fatal Python error … at interpreter shutdown"
    os._exit(0)


def main(model_dir: str, socket_path: str) -> None:
    model = load(model_dir)
    threading.Thread(target=_end_with_parent, daemon=True).start()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(8)
    print("ready", flush=True)
    while True:  # one job at a time: a worker runs one job at a time
        conn, _ = server.accept()
        _serve(conn, model)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
