"""A real local HTTP server speaking the OpenAI Chat Completions protocol, for tests.

It is the only stand-in the suite allows: a real socket, real HTTP, real JSON and real
Server-Sent Events, answering from a responder function the test supplies.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], Any]


def default_responder(request: dict[str, Any]) -> str:
    return "OK"


class FakeOpenAI:
    """Serve /v1/chat/completions and /v1/models (and llama.cpp's /props when ``props`` is given).

    A responder returns text; a dict {"tool_calls": [{"name", "arguments"}, ...]} (arguments a
    dict or JSON text; optional "content") for an assistant message that calls functions, streamed
    as tool-call deltas when the request streams; a dict with 'status', 'body' and optional 'headers' for an error;
    an iterator of text pieces to stream (endless if it never stops: the server writes until the
    client hangs up, counted in ``hung_up``); or raises to drop the connection. Slow modes:
    ``delay_s`` delays every answer (a streamed one before its first piece: a model that thinks),
    ``piece_delay_s`` each streamed piece; ``trickle_s`` sends the headers at once, then the body a
    few bytes every ``trickle_s`` (no single read ever waits long, so only a total deadline stops
    it). ``disconnects`` records when a client closed the connection before the answer was sent.
    ``slots`` makes it a server that works on that many requests at once and queues the rest, as
    llama.cpp's does."""

    def __init__(
        self,
        responder: Responder = default_responder,
        delay_s: float = 0.0,
        trickle_s: float = 0.0,
        *,
        piece_delay_s: float = 0.0,
        slots: int | None = None,
        models: tuple = ("gpt-4o-mini",),
        props: dict | None = None,
        transcriber: Callable[[dict[str, Any]], dict] | None = None,
    ):
        self.responder = responder
        # /v1/audio/transcriptions: the form's fields (the file as bytes) -> the verbose_json
        # answer, or {"status", "body"} for an error
        self.transcriber = transcriber
        self.delay_s, self.piece_delay_s, self.trickle_s = delay_s, piece_delay_s, trickle_s
        self.disconnects: list[float] = []
        self.models, self.props = models, props
        self.requests: list[dict[str, Any]] = []
        self.hung_up = 0
        self.busy = self.most_busy = 0
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(slots) if slots else None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small writes would otherwise wait ~40 ms for an ACK

            def log_message(self, *_args):  # keep test output quiet
                pass

            def do_GET(self):
                path = self.path.rstrip("/")
                if path.endswith("/models"):
                    return self._json(200, {"object": "list", "data": [_model(m) for m in server.models]})
                if path == "/props" and server.props is not None:
                    return self._json(200, server.props)
                return self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if self.path.rstrip("/").endswith("/audio/transcriptions") and server.transcriber is not None:
                    form = _form(self.headers.get("Content-Type", ""), self.rfile.read(length))
                    with server._lock:
                        server.requests.append(form)
                    answer = server.transcriber(form)
                    if "status" in answer:
                        return self._json(answer["status"], answer.get("body", {"error": {"message": "error"}}))
                    return self._json(200, answer)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(body)
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                with server._lock:  # requests being worked on or waiting for a slot
                    server.busy += 1
                    server.most_busy = max(server.most_busy, server.busy)
                try:
                    if server._slots is None:
                        return self._answer(body)
                    with server._slots:
                        return self._answer(body)
                finally:
                    with server._lock:
                        server.busy -= 1

            def _answer(self, body: dict) -> None:
                if server.delay_s:
                    time.sleep(server.delay_s)
                answer = server.responder(body)
                if isinstance(answer, dict) and "status" in answer:
                    error = answer.get("body", {"error": {"message": "error"}})
                    return self._json(answer["status"], error, answer.get("headers"))
                if isinstance(answer, dict) and "tool_calls" in answer:
                    calls = _tool_calls(answer["tool_calls"])
                    if body.get("stream"):
                        return self._stream_calls(body, calls, answer.get("content"))
                    return self._json(200, _completion(body, answer.get("content"), calls))
                if not isinstance(answer, (str, dict, list)):  # pieces to stream
                    return self._stream(body, answer)
                text = answer if isinstance(answer, str) else json.dumps(answer)
                if body.get("stream"):
                    return self._stream(body, _words(text), text)
                return self._json(200, _completion(body, text))

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if not server.trickle_s:
                    self.wfile.write(data)
                    return
                try:
                    for start in range(0, len(data), 8):
                        self.wfile.write(data[start : start + 8])
                        self.wfile.flush()
                        time.sleep(server.trickle_s)
                except OSError:  # the client closed the connection
                    with server._lock:
                        server.disconnects.append(time.monotonic())
                    self.close_connection = True

            def _stream_calls(self, request: dict, calls: list[dict], content: str | None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                deltas = [{"content": content}] if content else []
                deltas += [{"tool_calls": [{"index": n, **call}]} for n, call in enumerate(calls)]
                chunks = [{"delta": d, "finish_reason": None} for d in deltas]
                chunks.append({"delta": {}, "finish_reason": "tool_calls"})
                for n, choice in enumerate(chunks):
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": request.get("model", "fake"),
                        "choices": [{"index": 0, **choice}],
                    }
                    if n == len(chunks) - 1:
                        chunk["usage"] = _usage(request, json.dumps(calls))
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _stream(self, request: dict, pieces, text: str | None = None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                sent = []
                try:
                    for word in pieces:
                        chunk = {
                            "id": "chatcmpl-fake",
                            "object": "chat.completion.chunk",
                            "created": int(time.time()),
                            "model": request.get("model", "fake"),
                            "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}],
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        sent.append(word)
                        if server.piece_delay_s:
                            time.sleep(server.piece_delay_s)
                except (BrokenPipeError, ConnectionResetError):
                    with server._lock:
                        server.hung_up += 1
                    self.close_connection = True
                    return
                text = "".join(sent) if text is None else text
                final = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": request.get("model", "fake"),
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": _usage(request, text),
                }
                self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _form(content_type: str, data: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {field: text, or bytes for a file}."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        fields[name] = payload if part.get_filename() else payload.decode()
    return fields


def _words(text: str) -> list[str]:
    words = [w + " " for w in text.split(" ")]
    words[-1] = words[-1][:-1]
    return words


def _model(name: str | dict) -> dict:
    """A model entry; a dict adds fields (llama.cpp's ``capabilities``)."""
    extra = name if isinstance(name, dict) else {"id": name}
    return {"object": "model", "created": 0, "owned_by": "fake"} | extra


def _usage(request: dict, text: str) -> dict:
    prompt = sum(len(str(m.get("content", ""))) for m in request.get("messages", [])) // 4 + 1
    completion = len(text) // 4 + 1
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _tool_calls(calls: list[dict]) -> list[dict]:
    """The responder's calls in the protocol's shape (ids made up, arguments as JSON text)."""
    shaped = []
    for n, call in enumerate(calls):
        arguments = call.get("arguments", {})
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        shaped.append(
            {
                "id": call.get("id", f"call_{n}"),
                "type": "function",
                "function": {"name": call["name"], "arguments": text},
            }
        )
    return shaped


def _completion(request: dict, text: str | None, calls: list[dict] | None = None) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": _usage(request, (text or "") + json.dumps(calls or [])),
    }
