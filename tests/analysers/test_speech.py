"""The speech analyser (adapters/ai/speech.py) on speech made in the test: espeak-ng sentences at
known seconds, transcribed by the real Whisper base model through the real pipeline, a scripted
transcription endpoint, and a real worker whose horses use the model the worker loaded."""

from __future__ import annotations

import io
import os
import wave

import pytest

from backend_app.adapters.ai import speech
from backend_app.extensions import db
from backend_app.models import Analysis
from backend_app.services.video import pipeline as video_pipeline
from backend_app.settings import load_settings
from tests.analysers.speech_media import DE, EN, speech_video
from tests.factories import auth_headers, make_user
from tests.fake_openai import FakeOpenAI
from tests.helpers import wait_until
from tests.uploading import make_session, upload_video

pytestmark = pytest.mark.skipif(
    speech.INFO.missing() != [], reason=f"not installed: {speech.INFO.missing()} (pip install -r requirements-ai.txt)"
)
GENEROUS = "600"  # budget seconds per minute: a loaded machine must not cut these transcripts short


def _settings(tmp_path, ai_provider="offline", **env):
    values = {"ANALYSERS": "speech", "VIDEO_PREVIEW": "false", "ANALYSER_BUDGET_S_PER_MIN": GENEROUS, **env}
    return load_settings(values, ai_provider=ai_provider, data_dir=str(tmp_path / "data"))


def _report(path, settings, tmp_path) -> dict:
    out = video_pipeline.analyse_file(str(path), str(tmp_path / "work"), settings)
    return video_pipeline.describe_and_report(out, settings, user_id=None)


def _said(report: dict, word: str) -> dict:
    found = [s for s in report["transcript"] if word in s["text"].lower()]
    assert found, f"{word!r} not in {report['transcript']}"
    return found[0]


@pytest.fixture(scope="module")
def two_languages(tmp_path_factory):
    """Silence, English from 3 s, German from 8 s (16 s)."""
    return speech_video(tmp_path_factory.mktemp("speech") / "two.mp4", 16, [(3.0, *EN), (8.0, *DE)])


@pytest.mark.timeout(600)
def test_english_and_german_are_transcribed_at_their_seconds_with_their_languages(two_languages, tmp_path):
    report = _report(two_languages, _settings(tmp_path), tmp_path)

    balloon, morning = _said(report, "balloon"), _said(report, "morgen")
    assert balloon["start_s"] == pytest.approx(3.0, abs=1.0) and balloon["language"] == "en"
    assert morning["start_s"] == pytest.approx(8.0, abs=1.0) and morning["language"] == "de"
    assert "bahnhof" in " ".join(s["text"].lower() for s in report["transcript"])
    assert all(s["start_s"] < s["end_s"] <= 16.5 for s in report["transcript"])
    assert report["speech"]["language"] == "detected" and report["speech"]["note"] == ""
    # one window of speech, whose language Whisper was not sure of: redone passage by passage
    detection = report["speech"]["detection"]
    assert detection["languages"] == ["de", "en"] and detection["one_pass"] is False
    assert [w["redone"] for w in detection["windows"]] == [True]
    # the window's run, then its passages in one batch (a passage that reads doubtfully there: alone)
    redone = detection["redone"]
    assert redone["batches"] == 1 and redone["batched"] >= 1
    assert redone["batched"] + redone["alone"] == report["speech"]["encoder"]["passages"] >= 2
    assert report["speech"]["encoder"]["runs"] == 1 + 1 + redone["alone"]
    assert report["speech"]["transcribed_s"] == pytest.approx(16.0, abs=0.2)
    assert {r["name"]: r["state"] for r in report["analysers"]} == {"speech": "ran"}
    assert report["timings"]["analyser_speech"] > 0


@pytest.mark.timeout(600)
def test_a_set_language_is_used_for_every_passage(tmp_path):
    video = speech_video(tmp_path / "de.mp4", 9, [(1.0, *DE)])
    report = _report(video, _settings(tmp_path, SPEECH_LANGUAGE="de"), tmp_path)
    assert "bahnhof" in " ".join(s["text"].lower() for s in report["transcript"])
    assert {s["language"] for s in report["transcript"]} == {"de"}
    assert report["speech"]["language"] == "de"


def _one_pass(report: dict, language: str) -> None:
    """The speech was transcribed in one pass: one encoder run for its one window, sure of ``language``,
    over the window's speech and a little silence rather than Whisper's padded 30 s."""
    speech_facts = report["speech"]
    detection = speech_facts["detection"]
    assert detection["languages"] == [language] and detection["one_pass"] is True
    assert len(detection["windows"]) == 1 and detection["windows"][0]["language"] == language
    assert detection["windows"][0]["probability"] >= 0.7 and detection["windows"][0]["redone"] is False
    assert speech_facts["encoder"]["runs"] == speech_facts["encoder"]["windows"] == 1
    assert speech_facts["encoder"]["seconds"] <= speech_facts["audio_s"] + 3.1 < 30


@pytest.mark.timeout(600)
def test_one_language_is_transcribed_in_one_pass(tmp_path):
    video = speech_video(tmp_path / "de.mp4", 20, [(1.0, *DE), (11.0, *DE)])
    report = _report(video, _settings(tmp_path), tmp_path)
    _one_pass(report, "de")
    assert "bahnhof" in " ".join(s["text"].lower() for s in report["transcript"])
    assert {s["language"] for s in report["transcript"]} == {"de"} and report["speech"]["language"] == "detected"
    assert _said(report, "morgen")["start_s"] == pytest.approx(1.0, abs=1.0)
    assert report["speech"]["transcribed_s"] == pytest.approx(20.0, abs=0.2)


@pytest.mark.timeout(600)
def test_an_english_file_is_transcribed_in_one_pass_with_each_sentence_at_its_second(tmp_path):
    said = [(1.0, *EN), (7.0, "en", "The fishermen bring their catch to the market."), (13.0, *EN)]
    video = speech_video(tmp_path / "en.mp4", 18, said)
    report = _report(video, _settings(tmp_path), tmp_path)
    _one_pass(report, "en")
    assert {s["language"] for s in report["transcript"]} == {"en"}
    balloons = [s for s in report["transcript"] if "balloon" in s["text"].lower()]
    assert [round(s["start_s"]) for s in balloons] == pytest.approx([1, 13], abs=1), report["transcript"]
    assert _said(report, "market")["start_s"] == pytest.approx(7.0, abs=1.0)


@pytest.mark.timeout(600)
def test_a_window_mixing_languages_is_redone_passage_by_passage_each_in_its_own(tmp_path):
    # four passages: English, German, English, German (the first window takes the first two)
    video = speech_video(tmp_path / "four.mp4", 33, [(1.0, *EN), (8.0, *DE), (19.0, *EN), (25.0, *DE)])
    report = _report(video, _settings(tmp_path), tmp_path)
    detection = report["speech"]["detection"]
    assert detection["languages"] == ["de", "en"] and detection["one_pass"] is False
    assert [w["redone"] for w in detection["windows"]] == [True, True]
    morning = [s for s in report["transcript"] if "morgen" in s["text"].lower()]
    assert len(morning) == 2, report["transcript"]
    assert [round(s["start_s"]) for s in morning] == pytest.approx([8, 25], abs=1)
    assert {s["language"] for s in morning} == {"de"}
    assert [s["language"] for s in report["transcript"] if "floats" in s["text"].lower()] == ["en", "en"]


@pytest.mark.timeout(900)
def test_once_a_window_mixed_languages_the_rest_goes_passage_by_passage_without_its_window_run(tmp_path):
    """> 30 s of speech alternating English and German: the first window (two passages, at most 12 s)
    is run, unsure, redone and heard in two languages, so the later windows are not encoded as
    windows at all (their runs would be thrown away)."""
    said = [(2.0 + 10.0 * n, *(EN if n % 2 == 0 else DE)) for n in range(6)]
    video = speech_video(tmp_path / "mixed.mp4", 62, said)
    report = _report(video, _settings(tmp_path), tmp_path)

    detection, encoder = report["speech"]["detection"], report["speech"]["encoder"]
    assert encoder["windows"] >= 2 and encoder["passages"] >= 6
    assert all(w["redone"] for w in detection["windows"])
    assert detection["windows"][0]["probability"] is not None  # the first window was run and checked
    assert all(w["language"] is None for w in detection["windows"][1:])  # the later ones were not
    # the first window's run, then each window's passages in a batch (a window of one passage, or a
    # passage that reads doubtfully in the batch: alone)
    redone = detection["redone"]
    assert 1 <= redone["batches"] <= encoder["windows"] and redone["batched"] + redone["alone"] == encoder["passages"]
    assert encoder["runs"] == 1 + redone["batches"] + redone["alone"]
    assert detection["languages"] == ["de", "en"]
    for offset, voice, _text in said:  # each sentence at its second, in its language
        word = "balloon" if voice == "en" else "bahnhof"
        assert any(
            word in s["text"].lower() and s["language"] == voice and offset - 1.0 <= s["start_s"] <= offset + 7.0
            for s in report["transcript"]
        ), (offset, report["transcript"])


def test_speech_is_cut_into_windows_of_at_most_30_s_at_its_silences():
    from backend_app.adapters.ai.whisper_server import SAMPLE_RATE, speech_windows

    def passages(*seconds):  # (start, length) in seconds
        return [{"start": int(a * SAMPLE_RATE), "end": int((a + n) * SAMPLE_RATE)} for a, n in seconds]

    many = passages(*[(10.0 * i, 8.0) for i in range(7)])  # 56 s of speech
    assert speech_windows(many) == [many[0:3], many[3:6], many[6:]]
    long = passages((0, 5.0), (10, 45.0), (60, 3.0))
    assert speech_windows(long) == [long[0:1], long[1:2], long[2:]]  # a long passage is a window of its own
    assert speech_windows([]) == []
    # the language unknown: the first window two passages, more only within 12 s
    assert speech_windows(many, first=12.0) == [many[0:2], many[2:5], many[5:]]
    short = passages(*[(5.0 * i, 3.0) for i in range(12)])  # 36 s of speech in 3 s passages
    assert speech_windows(short, first=12.0) == [short[0:4], short[4:12]]
    assert speech_windows(long, first=12.0) == [long[0:1], long[1:2], long[2:]]


def test_a_window_is_redone_when_its_language_or_its_text_is_doubtful():
    from backend_app.adapters.ai.whisper_server import doubtful

    good = ("en", 0.96, -0.2, 0.0, 1.3)  # language, probability, avg_logprob, temperature, compression ratio
    assert not doubtful([good, good]) and not doubtful([])
    assert doubtful([good, ("en", 0.64, -0.2, 0.0, 1.3)])  # not sure of the language
    assert doubtful([good, ("en", 0.9, -0.9, 0.0, 1.3)])  # words Whisper hardly believed
    assert doubtful([("en", 0.9, -0.2, 0.4, 1.3)])  # a temperature fallback
    assert doubtful([("en", 0.9, -0.2, 0.0, 3.1)])  # repetitive


def test_a_batched_passage_is_redone_alone_where_faster_whisper_would_retry_it():
    from backend_app.adapters.ai.whisper_server import _retry

    assert not _retry(("de", 0.5, -0.9, 0.0, 1.6))  # unsure of its language, but read as well as alone
    assert _retry(("de", 0.9, -1.2, 0.0, 1.6))  # below faster-whisper's log-probability threshold
    assert _retry(("en", 0.9, -0.3, 0.0, 2.9))  # repetitive: faster-whisper would try a higher temperature


def test_input_shorter_than_30_s_is_encoded_with_3_s_of_its_padding():
    import numpy as np

    from backend_app.adapters.ai.whisper_server import PAD_FRAMES, trimmed

    padded = np.zeros((1, 80, 3000), dtype=np.float32)
    padded[0, :, :701] = np.random.default_rng(1).uniform(-1, 1, (80, 701))
    short = np.asarray(trimmed(padded))
    assert short.shape == (1, 80, 701 + PAD_FRAMES + 1)  # even: the encoder halves it
    assert np.array_equal(short, padded[:, :, : short.shape[-1]])
    full = np.ones((1, 80, 3000), dtype=np.float32)
    assert trimmed(full) is full  # 30 s of sound: as it is


def test_a_video_without_sound_has_an_empty_transcript_and_no_failure(tmp_path):
    from tests.audio_clips import av_clip

    video = av_clip(tmp_path / "mute.mp4", 2, None)
    report = _report(video, _settings(tmp_path), tmp_path)
    assert report["transcript"] == []
    assert report["speech"]["note"] == "no audio track"
    assert report["analysers"][0]["state"] == "ran"


def test_past_its_budget_it_stops_and_says_how_far_it_got(two_languages, tmp_path):
    report = _report(two_languages, _settings(tmp_path, ANALYSER_BUDGET_S_PER_MIN="0.001"), tmp_path)
    assert report["analysers"][0]["state"] == "ran"
    assert report["speech"]["note"].startswith("transcribed the first 0 s of 16 s")
    assert report["transcript"] == []


def test_the_model_is_joined_once_and_checked_against_its_pinned_hash(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(speech, "_prepared", None)
    directory = speech.model_dir()
    assert directory.startswith(str(tmp_path))
    assert sorted(os.listdir(directory)) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    assert os.path.getsize(os.path.join(directory, "model.bin")) == 145_217_607

    with open(os.path.join(directory, "model.bin"), "r+b") as damaged:  # a cache changed behind our back
        damaged.write(b"\0" * 16)
    monkeypatch.setattr(speech, "_prepared", None)
    assert speech.model_dir() == directory
    assert speech._sha256(__import__("pathlib").Path(directory) / "model.bin") == speech.SHA256["model.bin"]

    monkeypatch.setattr(speech, "_prepared", None)
    monkeypatch.setitem(speech.SHA256, "model.bin", "0" * 64)  # wheels that are not what was pinned
    with pytest.raises(speech.SpeechError, match="not the pinned") as refused:
        speech.model_dir()
    assert refused.value.code == "SPEECH_MODEL_CORRUPT"
    assert not [n for n in os.listdir(directory) if n.startswith(".")]  # no half-written file left


def _verbose(form: dict) -> dict:
    return {
        "task": "transcribe",
        "language": "english",
        "duration": 16.0,
        "text": "the red balloon",
        "segments": [
            {"id": 0, "seek": 0, "start": 3.1, "end": 4.9, "text": " the red balloon", "tokens": [], "temperature": 0.0,
             "avg_logprob": -0.2, "compression_ratio": 1.0, "no_speech_prob": 0.01},
        ],
    }  # fmt: skip


@pytest.mark.parametrize("failing", [False, True])
def test_the_openai_provider_can_transcribe_through_an_endpoint(two_languages, tmp_path, failing):
    answer = (lambda form: {"status": 500, "body": {"error": {"message": "model overloaded"}}}) if failing else _verbose
    with FakeOpenAI(transcriber=answer) as endpoint:
        settings = _settings(
            tmp_path,
            ai_provider="openai",
            TRANSCRIPTION_BASE_URL=endpoint.base_url,
            TRANSCRIPTION_MODEL="Systran/faster-whisper-base",
            TRANSCRIPTION_API_KEY="k",
        )
        # the pass alone: describing keyframes with the openai provider is another test's
        out = video_pipeline.analyse_file(str(two_languages), str(tmp_path / "work"), settings)
    found, state = out.found, out.analysers[0]
    form = endpoint.requests[-1]
    assert form["model"] == "Systran/faster-whisper-base" and form["response_format"] == "verbose_json"
    with wave.open(io.BytesIO(form["file"])) as sent:  # the decoded track, 16 kHz mono
        assert (sent.getframerate(), sent.getnchannels()) == (16000, 1)
        assert sent.getnframes() / 16000 == pytest.approx(16.0, abs=0.1)
    if failing:
        assert state["state"] == "failed"
        assert endpoint.base_url in state["reason"] and "500" in state["reason"]
        assert found == {} and out.shots  # the analysis stands
    else:
        assert state["state"] == "ran"
        assert found["transcript"] == [{"start_s": 3.1, "end_s": 4.9, "text": "the red balloon", "language": "en"}]
        assert found["speech"]["engine"] == "Systran/faster-whisper-base (endpoint)"


@pytest.mark.sqlite_only
@pytest.mark.timeout(900)
def test_a_real_worker_transcribes_each_job_with_the_model_it_loaded_before_forking(
    app, client, start_worker, two_languages
):
    proc = start_worker(
        1, extra_env={"ANALYSERS": "speech", "VIDEO_PREVIEW": "false", "ANALYSER_BUDGET_S_PER_MIN": GENEROUS}
    )[0]
    headers = auth_headers(client, make_user())
    session_id = make_session(client, headers)
    engines = []
    for n in range(2):
        body = upload_video(client, headers, session_id, two_languages, filename=f"speech{n}.mp4")

        def done(aid=body["analysis_id"]):
            db.session.expire_all()
            analysis = db.session.get(Analysis, aid)
            return analysis if analysis.job.status in ("completed", "failed") else None

        analysis = wait_until(done, timeout_s=600, message="the analysis to finish")
        assert analysis.job.status == "completed", analysis.job.error_message
        report = analysis.report
        assert _said(report, "balloon")["start_s"] == pytest.approx(3.0, abs=1.0)
        assert _said(report, "morgen")["language"] == "de"
        engines.append(report["speech"]["engine_process"])
    # one transcriber process, the worker's own child (not a horse's), served both jobs
    assert engines[0]["pid"] == engines[1]["pid"]
    assert [e["jobs_served"] for e in engines] == [1, 2]
    with open(f"/proc/{engines[0]['pid']}/status") as status:
        parent = next(int(line.split()[1]) for line in status if line.startswith("PPid:"))
    assert parent == proc.pid


@pytest.mark.sqlite_only
@pytest.mark.settings(analysers=["speech"])
def test_the_pipeline_health_check_starts_no_transcriber_in_the_web_process(app, client, monkeypatch):
    monkeypatch.setattr(speech, "_transcriber", None)
    body = client.get("/health/analysis-pipeline").get_json()
    assert body["ok"], body
    assert not [stage for stage in body["stages"] if stage.startswith("analyser_")]
    assert speech._transcriber is None
