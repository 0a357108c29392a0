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
# The speech the VAD keeps is transcribed in windows of passages (speech between 2 s silences) of at
# most this many seconds of speech: one encoder run each (a longer passage is a window of its own).
WINDOW_S = 30.0
# With the language unknown the first window holds two passages and at most this many seconds of
# speech: on speech that switches language its run is thrown away (redone passage by passage), and
# the encoder's cost grows with the length it is given (docs/benchmarks.md): 12 s cost ~0.3 s of
# CPU against ~1.15 s for 30 s. Two passages, so that a switch can show in it.
FIRST_WINDOW_S = 12.0
# With the language unknown, a window's language is detected from the encoder run that transcribes it;
# a window is redone passage by passage (each with its own language) when that detection is below
# this probability or a segment reads doubtfully (a temperature fallback, a low average log
# probability, repetitive text): what a window mixing languages gives (docs/benchmarks.md).
LANGUAGE_CONFIDENT = 0.7
LOGPROB_DOUBTFUL = -0.6
COMPRESSION_DOUBTFUL = 2.4  # faster-whisper's own threshold for repetitive text
# Whisper's encoder expects 30 s (3000 mel frames); faster-whisper pads shorter input with zeros.
# CTranslate2 4.8 encodes fewer frames as well, at ~proportional cost (0.14 s CPU for 10 s against
# 1.1 s for 30 s), so shorter input is encoded as its speech plus this much of the padding: with
# 1 s the decoder ran on past the speech (repetitions, temperature fallbacks); 2-3 s read the same
# words as the full padding (docs/benchmarks.md).
PAD_FRAMES = 300  # 3 s (100 mel frames a second)
# A bound on the tokens decoded from one encoder run, by the seconds of speech in it: a run that
# loops on a phrase stops there instead of at Whisper's 448 (and at each fallback temperature).
TOKENS_PER_S, TOKENS_MIN, TOKENS_MOST = 15, 30, 400
# A redo's passages go through the encoder and the decoder as one batch (``_batch``): EN/DE bench minute
# ~1 s CPU less than a run each (docs/benchmarks.md); a passage that reads as faster-whisper would
# retry at a higher temperature (its thresholds) is redone alone.
BATCH = True
BATCH_RETRY_LOGPROB = -1.0
EDGE_S = 1.0  # a segment starting this close to its passage's end, and running into the next, starts with the next
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
    """CTranslate2's Whisper, encoding short input without all of its padding and recording what its
    last language detection heard: with ``multilingual=True`` faster-whisper detects each encoder
    run's language from the output it transcribes from, but reports only the language it was given;
    this is how a window's own language (and how sure Whisper was) is known."""

    def __init__(self, inner):
        self._inner = inner
        self.last: tuple[str, float] | None = None  # (language, probability)
        self.each: list[tuple[str, float]] = []  # the same for each item of a batch
        self.least: float | None = None  # a detection less sure than this raises Unsure (before decoding)
        self.runs = 0
        self.frames = 0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def encode(self, features, to_cpu: bool = False):
        features = trimmed(features)
        self.runs += 1
        self.frames += features.shape[-1]
        return self._inner.encode(features, to_cpu=to_cpu)

    def detect_language(self, *args, **kwargs):
        results = self._inner.detect_language(*args, **kwargs)
        self.each = [(item[0][0][2:-2], float(item[0][1])) for item in results]  # a batch: one per item
        self.last = self.each[0]  # "<|de|>" -> "de"
        token, probability = results[0][0]
        if self.least is not None and probability < self.least:
            raise Unsure(*self.last)
        return results


class Unsure(Exception):
    """A window's language detection was not sure enough: stop before decoding it."""

    def __init__(self, language: str, probability: float):
        super().__init__(language, probability)
        self.language, self.probability = language, probability


def trimmed(features):
    """``features`` (a batch of one, which faster-whisper pads to 3000 frames with zero columns) cut to
    its content plus PAD_FRAMES of the padding (an even count: the encoder halves it)."""
    import ctranslate2
    import numpy as np

    array = np.asarray(features)
    if array.ndim != 3 or array.shape[0] != 1:
        return features
    filled = np.flatnonzero(np.any(array[0] != 0, axis=0))
    keep = min(array.shape[-1], (int(filled[-1]) + 1 if filled.size else 0) + PAD_FRAMES)
    keep += keep % 2
    if keep >= array.shape[-1]:
        return features
    return ctranslate2.StorageView.from_array(np.ascontiguousarray(array[:, :, :keep]))


def transcribe(model, path: str, language: str | None, budget_s: float):
    """Events for one video, stopping when ``budget_s`` seconds of this process's CPU time (every
    thread's; one job at a time) are spent, saying how far it got. CPU, not wall time: on a busy
    machine the same work takes longer but costs the same.

    The speech the VAD keeps (Silero, faster-whisper's) is transcribed in windows of passages of at
    most WINDOW_S seconds of speech, one encoder run each (``speech_windows``). A known ``language``
    is used for every window. Unknown: each window's language is detected from the encoder run that
    transcribes it (``multilingual``, recorded by ``_Heard``); a window whose detection is unsure or
    whose text reads doubtfully (``doubtful``) is redone passage by passage, each passage with its
    own language: so one language costs one pass, and a video that switches language gets each
    passage right. Once a window was redone, every later window goes passage by passage at once
    (speech that switched language once is likely to again, and the window's run would be thrown away). A window shorter than 30 s is encoded without most of its padding (``trimmed``)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spent = _cpu_clock()
    audio = pcm16k(path)
    if audio is None:
        yield {"done": {"audio_s": 0.0, "transcribed_s": 0.0, "complete": True, "note": "no audio track"}}
        return
    audio_s = round(audio.size / SAMPLE_RATE, 2)
    encoder: _Heard = model.model  # load() wraps it
    runs, frames = encoder.runs, encoder.frames
    windows = speech_windows(get_speech_timestamps(audio, VadOptions()), first=None if language else FIRST_WINDOW_S)
    heard: list[dict] = []  # the language unknown: what each window's encoder run heard
    languages: set[str] = set()
    done_s, complete = 0.0, True
    redone = {"batches": 0, "batched": 0, "alone": 0}  # the redone passages: in a batch (how many batches), alone
    mixed = False  # a window was redone: the speech switches language, so the rest goes passage by passage
    for window in windows:
        if spent() > budget_s:
            complete = False
            break
        found: list[tuple[dict, tuple]] = []
        unsure: Unsure | None = None
        try:
            # once mixed, a window's own run would most likely be thrown away (~1.15 s CPU for 30 s)
            for segment, quality in [] if mixed else _segments(model, audio, window, language, sure=not language):
                if language:  # nothing to decide: each segment as it comes
                    yield {"segment": segment}
                found.append((segment, quality))
                done_s = segment["end_s"]
                if spent() > budget_s:
                    complete = False
                    break
        except Unsure as exc:  # before a word was decoded
            unsure = exc
        if not language:
            # a window of one passage is as it is: redone, it would be the same run again
            redo = mixed or unsure is not None or (complete and len(window) > 1 and doubtful([q for _, q in found]))
            if mixed:
                said, probability = None, None
            elif unsure is not None:
                said, probability = unsure.language, unsure.probability
            else:
                said, probability = found[0][1][:2] if found else (None, None)
            if redo:  # each passage on its own, with its own language
                found = []
                batched = _batch(model, audio, window) if BATCH and spent() <= budget_s else {}
                redone["batches"] += 1 if batched else 0
                for index, passage in enumerate(window):
                    if spent() > budget_s:
                        complete = False
                        break
                    if batched.get(index) is not None:
                        found.extend(batched[index])
                        redone["batched"] += 1
                        continue
                    redone["alone"] += 1
                    for segment, quality in _segments(model, audio, [passage], None):
                        found.append((segment, quality))
                        if spent() > budget_s:
                            complete = False
                            break
            heard.append(
                {
                    "start_s": round(window[0]["start"] / SAMPLE_RATE, 2),
                    "end_s": round(window[-1]["end"] / SAMPLE_RATE, 2),
                    "language": said,
                    "probability": None if probability is None else round(probability, 2),
                    "redone": redo,
                }
            )
            # mixed: the redone passages were heard in more than one language (a window that was only
            # unsure of its one language says nothing about the next)
            mixed = mixed or (redo and len({segment["language"] for segment, _quality in found}) > 1)
            for segment, _quality in found:
                languages.add(segment["language"])
                yield {"segment": segment}
                done_s = segment["end_s"]
        if not complete:
            break
        done_s = window[-1]["end"] / SAMPLE_RATE
    done = {
        "audio_s": audio_s,
        "transcribed_s": round(audio_s if complete else done_s, 2),
        "complete": complete,
        "windows": len(windows),
        "passages": sum(len(window) for window in windows),
        # how much the encoder did: one run per window when nothing is redone, short ones not padded to 30 s
        "encoder_runs": encoder.runs - runs,
        "encoded_s": round((encoder.frames - frames) / 100, 1),
        "seconds": round(spent(), 3),
    }
    if not language:
        done["detection"] = {
            "languages": sorted(languages),
            "one_pass": not any(window["redone"] for window in heard),
            "redone": redone,
            "windows": heard,
        }
    yield {"done": done}


def _segments(model, audio, chunks: list[dict], language: str | None, sure: bool = False):
    """(segment, (language, probability, avg_logprob, temperature, compression_ratio)) from one
    faster-whisper call over the speech of ``chunks`` joined, in the video's seconds. Without a
    ``language`` each encoder run's own detection (``_Heard``) is the language of its segments;
    ``sure``: a detection under LANGUAGE_CONFIDENT raises ``Unsure`` before anything is decoded."""
    import numpy as np
    from faster_whisper.vad import SpeechTimestampsMap

    model.model.least = LANGUAGE_CONFIDENT if sure and len(chunks) > 1 else None

    piece = np.concatenate([audio[chunk["start"] : chunk["end"]] for chunk in chunks])
    seconds = min(piece.size / SAMPLE_RATE, WINDOW_S)
    segments, _info = model.transcribe(
        piece,
        language=language or "en",  # unknown: replaced by each run's detection (multilingual)
        multilingual=not language,
        beam_size=BEAM_SIZE,
        vad_filter=False,  # speech already (the VAD's passages)
        condition_on_previous_text=False,  # a small model repeats itself less
        max_new_tokens=min(TOKENS_MOST, TOKENS_MIN + int(TOKENS_PER_S * seconds)),
    )
    times = SpeechTimestampsMap(chunks, SAMPLE_RATE)
    for segment in segments:
        text = segment.text.strip()
        if not text:
            continue
        said, probability = (language, 1.0) if language else model.model.last
        yield (
            {
                "start_s": _start_s(times, chunks, segment.start, segment.end),
                "end_s": times.get_original_time(segment.end, is_end=True),
                "text": text,
                "language": said,
            },
            (said, probability, segment.avg_logprob, segment.temperature, segment.compression_ratio),
        )


def _batch(model, audio, passages: list[dict]) -> dict[int, list[tuple[dict, tuple]] | None]:
    """The passages of a redo transcribed together, each in its own language: one encoder run over
    them all (each passage's mel frames, zero-padded to the longest + PAD_FRAMES) and one greedy
    ``generate`` whose prompts carry each passage's detected language (faster-whisper's
    ``BatchedInferencePipeline.forward``). Cheaper than a run per passage, but without faster-whisper's
    temperature fallback: a passage whose text reads as the fallback would retry (BATCH_RETRY) maps to
    None and is redone alone by ``_segments``; so do passages too long to batch. Index -> (segment,
    quality) as ``_segments`` gives them."""
    import numpy as np
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import BatchedInferencePipeline, TranscriptionOptions, get_suppressed_tokens
    from faster_whisper.vad import SpeechTimestampsMap

    mels = {}
    for index, passage in enumerate(passages):
        mel = model.feature_extractor(audio[passage["start"] : passage["end"]])[:, :-1]  # as generate_segments
        if mel.shape[-1] + PAD_FRAMES <= 3000:
            mels[index] = mel
    if len(mels) < 2:
        return {}
    width = max(mel.shape[-1] for mel in mels.values()) + PAD_FRAMES
    width += width % 2  # the encoder halves it
    features = np.zeros((len(mels), mels[next(iter(mels))].shape[0], width), dtype=np.float32)
    for row, mel in enumerate(mels.values()):
        features[row, :, : mel.shape[-1]] = mel
    tokenizer = Tokenizer(model.hf_tokenizer, True, task="transcribe", language="en")  # "en": replaced per item
    longest_s = min(width / 100, WINDOW_S)
    options = TranscriptionOptions(
        beam_size=BEAM_SIZE, best_of=1, patience=1, length_penalty=1, repetition_penalty=1,
        no_repeat_ngram_size=0, log_prob_threshold=-1.0, no_speech_threshold=0.6,
        compression_ratio_threshold=COMPRESSION_DOUBTFUL, condition_on_previous_text=False,
        prompt_reset_on_temperature=0.5, temperatures=[0.0], initial_prompt=None, prefix=None,
        suppress_blank=True, suppress_tokens=get_suppressed_tokens(tokenizer, [-1]), without_timestamps=False,
        max_initial_timestamp=1.0, word_timestamps=False, prepend_punctuations="", append_punctuations="",
        multilingual=True, max_new_tokens=min(TOKENS_MOST, TOKENS_MIN + int(TOKENS_PER_S * longest_s)),
        clip_timestamps="0", hallucination_silence_threshold=None, hotwords=None,
    )  # fmt: skip
    model.model.least = None
    meta = [{"offset": 0.0, "duration": mel.shape[-1] / 100} for mel in mels.values()]
    outputs = BatchedInferencePipeline(model).forward(features, tokenizer, meta, options)
    heard = list(model.model.each)
    results: dict[int, list[tuple[dict, tuple]] | None] = {}
    for row, (index, parts) in enumerate(zip(mels, outputs, strict=True)):
        said, probability = heard[row]
        times = SpeechTimestampsMap([passages[index]], SAMPLE_RATE)
        found = []
        for part in parts:
            text = part["text"].strip()
            if not text:
                continue
            quality = (said, probability, part["avg_logprob"], 0.0, part["compression_ratio"])
            start, end = min(part["start"], part["end"]), part["end"]
            segment = {
                "start_s": times.get_original_time(start),
                "end_s": times.get_original_time(end, is_end=True),
                "text": text,
                "language": said,
            }
            found.append((segment, quality))
        results[index] = found if found and not any(_retry(q) for _s, q in found) else None
    return results


def _retry(quality: tuple) -> bool:
    """Whether faster-whisper's own loop would have retried this text at a higher temperature (or
    dropped it as silence): then the passage is transcribed alone, fallback and all."""
    _language, _probability, avg_logprob, _temperature, compression = quality
    return avg_logprob < BATCH_RETRY_LOGPROB or compression > COMPRESSION_DOUBTFUL


def _start_s(times, chunks: list[dict], start: float, end: float) -> float:
    """A segment's start in the video's seconds. Whisper starts a segment where the one before it
    ended, so across the silence taken out between two passages a segment can begin in the last
    moments of the passage before the one it says (the VAD's 0.4 s of padding and Whisper's
    imprecision): then it begins where its own passage does (seen: 9.9 s for words said at 13 s)."""
    first, last = times.get_chunk_index(start), times.get_chunk_index(end, is_end=True)
    if last > first and times.chunk_end_sample[first] / SAMPLE_RATE - start < EDGE_S:
        return round(chunks[first + 1]["start"] / SAMPLE_RATE, 2)
    return times.get_original_time(start)


def doubtful(qualities: list[tuple]) -> bool:
    """Whether a window's transcript is to be redone passage by passage: its language detection was
    unsure, or a segment reads like a wrong language (low average log probability, a temperature
    fallback, repetitive text)."""
    return any(
        probability < LANGUAGE_CONFIDENT
        or avg_logprob < LOGPROB_DOUBTFUL
        or temperature > 0
        or compression > COMPRESSION_DOUBTFUL
        for _language, probability, avg_logprob, temperature, compression in qualities
    )


def speech_windows(passages: list[dict], most: float = WINDOW_S, first: float | None = None) -> list[list[dict]]:
    """The VAD's passages, in time order, in windows of at most ``most`` seconds of speech (a longer
    passage is a window of its own); ``first``: the first window takes a second passage within
    ``most`` and more only within ``first`` seconds."""
    windows: list[list[dict]] = []
    size = 0
    for passage in passages:
        length = passage["end"] - passage["start"]
        limit = first if first is not None and len(windows) == 1 and len(windows[0]) > 1 else most
        if windows and size + length <= limit * SAMPLE_RATE:
            windows[-1].append(passage)
            size += length
        else:
            windows.append([passage])
            size = length
    return windows


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
