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
    # both passages sampled; they disagree, so each passage is transcribed with its own language
    assert report["speech"]["detection"] == {"sampled": 2, "languages": ["de", "en"], "one_pass": False}
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


@pytest.mark.timeout(600)
def test_one_language_heard_in_the_sampled_passages_is_transcribed_in_one_pass(tmp_path):
    video = speech_video(tmp_path / "de.mp4", 20, [(1.0, *DE), (11.0, *DE)])
    report = _report(video, _settings(tmp_path), tmp_path)
    assert report["speech"]["detection"] == {"sampled": 2, "languages": ["de"], "one_pass": True}
    assert "bahnhof" in " ".join(s["text"].lower() for s in report["transcript"])
    assert {s["language"] for s in report["transcript"]} == {"de"} and report["speech"]["language"] == "detected"
    assert _said(report, "morgen")["start_s"] == pytest.approx(1.0, abs=1.0)
    assert report["speech"]["transcribed_s"] == pytest.approx(20.0, abs=0.2)


@pytest.mark.timeout(600)
def test_a_passage_not_sampled_gets_its_own_language_from_the_run_that_transcribes_it(tmp_path):
    # four passages: the first, third and last are sampled (en, en, de: they disagree), the second is not
    video = speech_video(tmp_path / "four.mp4", 33, [(1.0, *EN), (8.0, *DE), (19.0, *EN), (25.0, *DE)])
    report = _report(video, _settings(tmp_path), tmp_path)
    assert report["speech"]["detection"] == {"sampled": 3, "languages": ["de", "en"], "one_pass": False}
    morning = [s for s in report["transcript"] if "morgen" in s["text"].lower()]
    assert len(morning) == 2, report["transcript"]
    assert morning[0]["start_s"] == pytest.approx(8.0, abs=1.0) and morning[0]["language"] == "de"
    assert [s["language"] for s in report["transcript"] if "floats" in s["text"].lower()] == ["en", "en"]


def test_the_language_is_detected_on_a_few_long_passages_spread_over_the_video():
    from backend_app.adapters.ai.whisper_server import SAMPLE_RATE, sample_passages

    def passages(*seconds):  # (start, length) in seconds
        return [{"start": int(a * SAMPLE_RATE), "end": int((a + n) * SAMPLE_RATE)} for a, n in seconds]

    many = passages(*[(10.0 * i, 3.0) for i in range(7)])
    assert sample_passages(many) == [many[0], many[3], many[6]]
    mixed = passages((0, 1.0), (5, 2.5), (9, 0.5), (12, 4.0), (20, 0.8))
    assert sample_passages(mixed) == [mixed[0], mixed[1], mixed[3]]  # the long ones, then the longest short one
    few = passages((0, 1.0), (5, 2.5))
    assert sample_passages(few) == few  # a short passage is asked too when there are few
    short = passages((0, 0.5), (5, 1.5), (9, 0.3), (12, 1.0))
    assert sample_passages(short) == [short[0], short[1], short[3]]  # none long enough: the longest
    assert sample_passages([]) == []


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
