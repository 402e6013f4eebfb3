"""A real local HTTP server speaking OpenAI's transcription API, for tests and benchmarks.

``POST /v1/audio/transcriptions`` with multipart/form-data, as the official SDK sends it. The server
checks the bearer key, refuses files over 25 MiB with 413, checks the file's extension and decodes
the upload with PyAV to 16 kHz mono. Its "transcript" is deterministic and derived from the audio:
every stretch of sound (20 ms frames above -40 dBFS, gaps under 250 ms bridged) becomes a segment
whose text names its dominant frequency, ``"tone 440 Hz"`` (or ``"noise"`` for a flat spectrum), so
tests can plant tones at known times and check where the stitched segments land.

- ``json`` -> ``{"text"}``;  ``verbose_json`` -> ``{"task", "language", "duration", "text", "segments"}``
  (segments with the fields whisper-1 returns), plus ``words`` (each stretch's words spread evenly
  over it) when ``timestamp_granularities[]`` asks for ``word``; ``text`` -> the text as text/plain.
  Every time is relative to the uploaded audio, as OpenAI's are.
- ``speech_model``: a callable from the decoded upload (16 kHz float32) to a list of segments
  ``{"start", "end", "text", "words": [{"start", "end", "word"}]}`` replaces the tone labels, so
  benchmarks can put a real model behind the API (and measure word error rates through it).
- Like OpenAI, ``gpt-*`` models refuse ``verbose_json`` with a 400, unknown models get a 404, and
  ``language`` in verbose_json is a lower-case English name ("english").
- ``gpt-transcribe``: ``languages[]`` (ISO 639-1 hints) and ``keywords[]`` in the form; its ``json``
  answer is ``{"text", "usage": {"type": "duration", "seconds"}, "languages": [{"code"}]}`` (the codes
  of :attr:`detected_languages`; empty when unsure). ``language`` together with ``languages`` is a
  400, and so is a keyword holding ``<``, ``>``, CR or LF, as OpenAI refuses them; other models refuse
  ``languages`` and ``keywords``.
- Shutdowns: :attr:`shutdown_dates` (OpenAI's: 2027-02-26 for whisper-1, the gpt-4o models and
  ``/v1/audio/translations``) against :attr:`today` (a settable clock): on and after a model's date
  it answers 404 ``model_not_found`` "has been deprecated", as OpenAI answers a model it shut down;
  the translations endpoint answers 404 "Invalid URL".
- ``POST /v1/audio/translations`` (whisper-1 only, as OpenAI): what the speech model hears, as
  ``json`` or ``verbose_json`` with ``"task": "translate"`` and language "english".
- Scripted faults: :meth:`fail_next` (the next N requests) and :meth:`fail_always`, answered with
  OpenAI-shaped error bodies and ``retry-after-ms`` (1 ms by default, so SDK retries are quick).
- :meth:`require_concurrency` holds the first N requests until N are in flight at once (or a
  timeout), which proves parallel uploads without sleeping.
- Every request is recorded (:attr:`requests`), with the peak number in flight (:attr:`max_in_flight`)
  and the seconds of audio received (:meth:`uploaded_seconds`).

Use it as a context manager; :attr:`base_url` ends in ``/v1``.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import av
import numpy as np

MiB = 1024 * 1024
OPENAI_MAX_BYTES = 25 * MiB
SAMPLE_RATE = 16_000
SUPPORTED_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
DEFAULT_MODELS = frozenset(
    {"whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize", "gpt-transcribe"}
)
LANGUAGE_NAMES = {"en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian", "nl": "dutch"}
#: OpenAI's notice of 2026-08-26: these models and /v1/audio/translations shut down on 2027-02-26.
OPENAI_SHUTDOWN = date(2027, 2, 26)
RETIRING = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe", "gpt-4o-transcribe-diarize")
SHUTDOWN_DATES = dict.fromkeys((*RETIRING, "/v1/audio/translations"), OPENAI_SHUTDOWN)
TRANSLATIONS = "/v1/audio/translations"
HINT_LIST_MODELS = frozenset({"gpt-transcribe"})

_FRAME = SAMPLE_RATE // 50  # 20 ms
_THRESHOLD_RMS = 0.01  # -40 dBFS
_BRIDGE_FRAMES = 12  # gaps up to 240 ms do not end a segment
_MIN_FRAMES = 5  # sounds under 100 ms are ignored


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    status: int
    authorized: bool
    model: str | None = None
    response_format: str | None = None
    language: str | None = None
    filename: str | None = None
    content_type: str | None = None
    size: int = 0  # bytes of the uploaded file
    body_size: int = 0  # bytes of the whole request body
    duration: float | None = None  # seconds decoded from the upload
    fields: dict[str, list[str]] = field(default_factory=dict)  # every non-file form field
    timestamp_granularities: tuple[str, ...] = ()
    fault: bool = False  # answered by a scripted fault


@dataclass
class _Fault:
    status: int
    remaining: int | None  # None: forever
    message: str | None
    code: str | None


class _Reply(Exception):
    """Raised inside the handler to answer with an error."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
        self.headers = headers or {}


class OpenAITranscriptionServer:
    def __init__(
        self,
        *,
        api_key: str = "sk-test-local-0123456789",
        max_upload_bytes: int = OPENAI_MAX_BYTES,
        retry_after_ms: int | None = 1,
        models: frozenset[str] | set[str] = DEFAULT_MODELS,
        host: str = "127.0.0.1",
        speech_model: Callable[[np.ndarray], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.speech_model = speech_model
        #: What gpt-transcribe says it heard (``languages: [{code}]``); empty: unsure.
        self.detected_languages: list[str] = ["en"]
        #: The server's clock for shutdowns (a test sets it past a date).
        self.today: date = date(2026, 12, 5)
        self.shutdown_dates: dict[str, date] = dict(SHUTDOWN_DATES)
        self.api_key = api_key
        self.max_upload_bytes = max_upload_bytes
        self.retry_after_ms = retry_after_ms
        self.models = frozenset(models)
        self._host = host
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._faults: list[_Fault] = []
        self._in_flight = 0
        self.max_in_flight = 0
        self._gate_size = 0
        self._gate_remaining = 0
        self._gate_timeout = 0.0
        self._gate_reached = False
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> OpenAITranscriptionServer:
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = ThreadingHTTPServer((self._host, 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="openai-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenAITranscriptionServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/v1"

    # --- scripting and inspection ----------------------------------------------------------------
    def fail_next(self, status: int, count: int = 1, *, message: str | None = None, code: str | None = None) -> None:
        """Answer the next ``count`` authorized requests with ``status`` (after any earlier script)."""
        with self._lock:
            self._faults.append(_Fault(status, count, message, code))

    def fail_always(self, status: int, *, message: str | None = None, code: str | None = None) -> None:
        with self._lock:
            self._faults.append(_Fault(status, None, message, code))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def require_concurrency(self, count: int, *, timeout: float = 5.0) -> None:
        """Hold each of the next ``count`` requests until ``count`` requests are in flight together
        (or ``timeout`` seconds pass, after which they proceed anyway)."""
        with self._lock:
            self._gate_size = count
            self._gate_remaining = count
            self._gate_timeout = timeout
            self._gate_reached = False

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def transcription_requests(self) -> list[RecordedRequest]:
        """Requests that were answered 200."""
        return [r for r in self.requests if r.status == 200]

    def uploaded_seconds(self) -> float:
        """Seconds of audio in the requests answered 200 (what OpenAI would bill)."""
        return sum(r.duration or 0.0 for r in self.transcription_requests())

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self.max_in_flight = 0
            self._gate_size = self._gate_remaining = 0

    # --- internals used by the handler -----------------------------------------------------------
    def _enter(self) -> None:
        with self._changed:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            self._changed.notify_all()

    def _leave(self) -> None:
        with self._changed:
            self._in_flight -= 1
            self._changed.notify_all()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            while self._faults:
                fault = self._faults[0]
                if fault.remaining is None:
                    return fault
                if fault.remaining > 0:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.pop(0)
                    return fault
                self._faults.pop(0)
            return None

    def _pass_gate(self) -> None:
        with self._changed:
            if self._gate_remaining <= 0:
                return
            self._gate_remaining -= 1
            deadline = time.monotonic() + self._gate_timeout
            while not self._gate_reached:
                if self._in_flight >= self._gate_size:
                    self._gate_reached = True
                    self._changed.notify_all()
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, tuple[str, str, bytes]]]:
    """(form fields, files {name: (filename, content type, data)}) of a multipart/form-data body."""
    header = Message()
    header["content-type"] = content_type
    if header.get_content_type() != "multipart/form-data" or not header.get_param("boundary"):
        raise _Reply(400, "Expected a multipart/form-data request body with a boundary.")
    delimiter = b"--" + str(header.get_param("boundary")).encode("latin-1")
    fields: dict[str, list[str]] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    parts = body.split(delimiter)
    if len(parts) < 3 or not parts[-1].startswith(b"--"):
        raise _Reply(400, "Malformed multipart body: no closing boundary.")
    for part in parts[1:-1]:
        if part.startswith(b"\r\n"):
            part = part[2:]
        if part.endswith(b"\r\n"):
            part = part[:-2]
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            raise _Reply(400, "Malformed multipart part: no header/body separator.")
        headers = Message()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip()] = value.strip()
        field_name = headers.get_param("name", header="content-disposition")
        if not field_name:
            continue
        filename = headers.get_param("filename", header="content-disposition")
        if filename is not None:
            files[str(field_name)] = (str(filename), headers.get_content_type(), data)
        else:
            fields.setdefault(str(field_name), []).append(data.decode("utf-8", "replace"))
    return fields, files


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _decode(data: bytes) -> np.ndarray:
    """The upload as 16 kHz mono float32, or a 400 like OpenAI's for anything FFmpeg cannot read."""
    try:
        chunks: list[np.ndarray] = []
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise _Reply(400, "Audio file might be corrupted or unsupported", code="invalid_value", param="file")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError:
        raise _Reply(400, "Audio file might be corrupted or unsupported", code="invalid_value", param="file") from None
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def _sounds(samples: np.ndarray) -> list[tuple[float, float, str]]:
    """(start, end, label) of every stretch of sound, deterministic."""
    frames = samples.size // _FRAME
    if frames == 0:
        return []
    rms = np.sqrt(np.mean(np.square(samples[: frames * _FRAME].reshape(frames, _FRAME), dtype=np.float64), axis=1))
    loud = np.flatnonzero(rms > _THRESHOLD_RMS)
    runs: list[list[int]] = []
    for index in loud:
        if runs and index - runs[-1][1] <= _BRIDGE_FRAMES:
            runs[-1][1] = int(index)
        else:
            runs.append([int(index), int(index)])
    out = []
    for first, last in runs:
        if last - first + 1 < _MIN_FRAMES:
            continue
        piece = samples[first * _FRAME : (last + 1) * _FRAME].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(piece * np.hanning(piece.size)))
        peak = int(np.argmax(spectrum))
        flatness = float(np.exp(np.mean(np.log(spectrum + 1e-12))) / (np.mean(spectrum) + 1e-12))
        if flatness > 0.3:
            label = "noise"
        else:
            hertz = int(round(peak * SAMPLE_RATE / piece.size / 10.0) * 10)
            label = f"tone {hertz} Hz"
        out.append((first * _FRAME / SAMPLE_RATE, (last + 1) * _FRAME / SAMPLE_RATE, label))
    return out


class _Handler(BaseHTTPRequestHandler):
    app: OpenAITranscriptionServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "openai-local/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(payload, (dict, list)):
            data = json.dumps(payload).encode()
            content_type = "application/json"
        else:
            data = str(payload).encode()
            content_type = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", f"req_local_{id(self):x}")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._read_body()
        self._send(
            404, {"error": {"message": "Not found", "type": "invalid_request_error", "param": None, "code": None}}
        )

    def do_POST(self) -> None:
        app = self.app
        app._enter()
        record: dict[str, Any] = {"path": self.path, "status": 500, "authorized": False}
        try:
            body = self._read_body()
            record["body_size"] = len(body)
            status, payload, headers = self._handle(body, record)
        except _Reply as reply:
            status, payload, headers = reply.status, reply.body, reply.headers
        except Exception as exc:  # a bug in the fake: say so loudly, as a 500
            status, payload, headers = (
                500,
                {
                    "error": {
                        "message": f"fake server error: {exc!r}",
                        "type": "server_error",
                        "param": None,
                        "code": None,
                    }
                },
                {},
            )
        finally:
            app._leave()
        record["status"] = status
        app._record(RecordedRequest(**record))
        self._send(status, payload, headers)

    def _handle(self, body: bytes, record: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        app = self.app
        path = self.path.split("?")[0].rstrip("/")
        translating = path == TRANSLATIONS and app.today < app.shutdown_dates.get(TRANSLATIONS, OPENAI_SHUTDOWN)
        if path != "/v1/audio/transcriptions" and not translating:
            raise _Reply(404, f"Invalid URL (POST {self.path})")
        auth = self.headers.get("Authorization") or ""
        presented = auth[7:] if auth.lower().startswith("bearer ") else ""
        if presented != app.api_key:
            # Echo the whole presented key: the client must never let it reach its own errors.
            raise _Reply(
                401,
                f"Incorrect API key provided: {presented}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                code="invalid_api_key",
            )
        record["authorized"] = True
        if len(body) > app.max_upload_bytes:
            raise _Reply(
                413,
                f"Maximum content size limit ({app.max_upload_bytes}) exceeded ({len(body)} bytes read)",
                type_="server_error",
            )
        fields, files = _parse_multipart(self.headers.get("Content-Type") or "", body)
        record["fields"] = fields
        record["model"] = _first(fields.get("model"))
        record["response_format"] = (fields.get("response_format") or ["json"])[0]
        record["language"] = _first(fields.get("language"))
        record["timestamp_granularities"] = tuple(
            fields.get("timestamp_granularities[]") or fields.get("timestamp_granularities") or ()
        )
        if "file" in files:
            filename, content_type, data = files["file"]
            record.update(filename=filename, content_type=content_type, size=len(data))

        fault = app._take_fault()
        if fault is not None:
            record["fault"] = True
            raise _fault_reply(fault, app.retry_after_ms)
        app._pass_gate()

        if "file" not in files:
            raise _Reply(400, "You must provide a file.", param="file")
        self._check_model(record, fields, translating)
        _check_format(record)
        samples = _decode(files["file"][2])
        duration = samples.size / SAMPLE_RATE
        record["duration"] = duration
        if duration < 0.1:
            raise _Reply(
                400,
                "Audio file is too short. Minimum audio length is 0.1 seconds.",
                param="file",
                code="audio_too_short",
            )
        if app.speech_model is not None:
            heard = app.speech_model(samples)
        else:
            heard = [_labelled(start, end, label) for start, end, label in _sounds(samples)]
        return 200, self._answer(record, heard, duration, translating), {}

    def _check_model(self, record: dict[str, Any], fields: dict[str, list[str]], translating: bool) -> None:
        """The model exists, is not shut down, suits the endpoint, and gets only the hints it takes."""
        app = self.app
        model = record["model"]
        if not model:
            raise _Reply(400, "you must provide a model parameter", param="model")
        if model not in app.models:
            raise _Reply(
                404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
            )
        shutdown = app.shutdown_dates.get(model)
        if shutdown is not None and app.today >= shutdown:
            raise _Reply(
                404,
                f"The model `{model}` has been deprecated, learn more here: https://platform.openai.com/docs/deprecations",
                code="model_not_found",
            )
        if translating and model != "whisper-1":
            raise _Reply(400, f"Invalid model {model}: translations support whisper-1 only.", param="model")
        _check_hints(model, fields)

    def _answer(self, record: dict[str, Any], heard: list[dict[str, Any]], duration: float, translating: bool) -> Any:
        """What the request's response_format asks for, from what was heard."""
        model, response_format = record["model"], record["response_format"]
        text = " ".join(str(h["text"]).strip() for h in heard if str(h["text"]).strip())
        if response_format == "text":
            return text
        if response_format == "json":
            answer: dict[str, Any] = {"text": text, "usage": {"type": "duration", "seconds": int(np.ceil(duration))}}
            if model in HINT_LIST_MODELS:
                answer["languages"] = [{"code": code} for code in self.app.detected_languages]
            return answer
        language = "en" if translating else record["language"]
        segments = [
            {
                "id": i,
                "seek": 0,
                "start": round(float(h["start"]), 2),
                "end": round(float(h["end"]), 2),
                "text": f" {str(h['text']).strip()}",
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": float(h.get("avg_logprob", -0.2)),
                "compression_ratio": float(h.get("compression_ratio", 1.0)),
                "no_speech_prob": float(h.get("no_speech_prob", 0.01)),
            }
            for i, h in enumerate(heard)
        ]
        payload: dict[str, Any] = {
            "task": "translate" if translating else "transcribe",
            "language": LANGUAGE_NAMES.get(language or "en", language),
            "duration": round(duration, 2),
            "text": text,
            "segments": segments,
        }
        if "word" in record["timestamp_granularities"]:
            payload["words"] = [
                {"word": str(w["word"]).strip(), "start": round(float(w["start"]), 2), "end": round(float(w["end"]), 2)}
                for h in heard
                for w in h.get("words", [])
            ]
            if "segment" not in record["timestamp_granularities"]:
                del payload["segments"]  # as OpenAI: words only, unless segments are asked for too
        return payload


def _check_format(record: dict[str, Any]) -> None:
    """response_format and the file's extension, refused as OpenAI refuses them."""
    model, response_format = record["model"], record["response_format"]
    if response_format not in ("json", "text", "verbose_json", "srt", "vtt"):
        raise _Reply(
            400,
            f"'{response_format}' is not one of ['json', 'text', 'srt', 'verbose_json', 'vtt']",
            param="response_format",
        )
    if model.startswith("gpt-") and response_format not in ("json", "text"):
        raise _Reply(
            400,
            f"response_format '{response_format}' is not compatible with model '{model}'. "
            "Use 'json' or 'text' instead.",
            param="response_format",
            code="unsupported_value",
        )
    filename = record["filename"] or ""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in SUPPORTED_EXTENSIONS:
        raise _Reply(
            400,
            f"Invalid file format. Supported formats: {list(SUPPORTED_EXTENSIONS)}",
            param="file",
            code="invalid_value",
        )


def _form_list(fields: dict[str, list[str]], name: str) -> list[str]:
    """A list field as the SDK sends it (``name[]``, repeated), or plain ``name``."""
    return fields.get(f"{name}[]", []) + fields.get(name, [])


def _check_hints(model: str, fields: dict[str, list[str]]) -> None:
    """gpt-transcribe's hint fields, refused as OpenAI refuses them."""
    languages, keywords = _form_list(fields, "languages"), _form_list(fields, "keywords")
    for name, given in (("languages", languages), ("keywords", keywords)):
        if given and model not in HINT_LIST_MODELS:
            raise _Reply(
                400, f"'{name}' is not supported with model '{model}'.", param=name, code="unsupported_parameter"
            )
    if languages and fields.get("language"):
        raise _Reply(
            400, "'language' and 'languages' cannot be used together: give one of them.",
            param="languages", code="invalid_value",
        )
    for index, keyword in enumerate(keywords):
        if any(character in keyword for character in "<>\r\n"):
            raise _Reply(
                400,
                f"Invalid 'keywords[{index}]': keywords cannot contain '<', '>', carriage returns or line feeds.",
                param=f"keywords[{index}]",
                code="invalid_value",
            )


def _labelled(start: float, end: float, label: str) -> dict[str, Any]:
    """A stretch of sound as a segment whose words share its time evenly."""
    words = label.split()
    step = (end - start) / len(words)
    return {
        "start": start,
        "end": end,
        "text": label,
        "words": [{"start": start + i * step, "end": start + (i + 1) * step, "word": w} for i, w in enumerate(words)],
    }


def _fault_reply(fault: _Fault, retry_after_ms: int | None) -> _Reply:
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    status = fault.status
    if status == 429:
        return _Reply(
            429,
            fault.message or "Rate limit reached for requests",
            type_="requests",
            code=fault.code or "rate_limit_exceeded",
            headers=headers,
        )
    if status == 401:
        return _Reply(401, fault.message or "Incorrect API key provided.", code=fault.code or "invalid_api_key")
    if status >= 500:
        return _Reply(
            status,
            fault.message or "The server had an error while processing your request. Sorry about that!",
            type_="server_error",
            code=fault.code,
            headers=headers,
        )
    return _Reply(status, fault.message or f"Scripted error {status}", code=fault.code)
