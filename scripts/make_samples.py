#!/usr/bin/env python
"""Generate the bundled sample clips in samples/ and their manifest.

Each clip is one English sentence spoken by espeak-ng, muxed with PyAV into a different container
(with a tiny video track where the container is a video format). The committed clips mean that
running vidscribe, its demo and its tests never needs espeak-ng; only this script does:

    apt-get install -y espeak-ng
    .venv/bin/python scripts/make_samples.py            # writes samples/*.{mp4,webm,mkv,mp3} + manifest.json

Re-running it rewrites the same files (bit-exact muxing, single-threaded encoders; the bytes can
still change with another espeak-ng or FFmpeg version).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.media_factory import move_index_to_front

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT, FPS = 64, 48, 5

# id, sentence, container, file suffix, PyAV format, video codec, video options, audio codec,
# audio rate, audio layout, audio bit rate, MP4 index at the front?
CLIPS = [
    {
        "id": "sample-bakery",
        "text": "Every morning the baker opens his little shop at six and sells warm bread to the whole street.",
        "container": "mp4", "suffix": ".mp4", "format": "mp4", "faststart": True,
        "video": "libx264", "video_options": {"crf": "38", "preset": "medium", "threads": "1"},
        "audio": "aac", "rate": 44_100, "layout": "stereo", "bitrate": 64_000,
    },
    {
        "id": "sample-train",
        "text": "Our train to the mountains leaves at noon, so please pack a warm coat and strong boots.",
        "container": "webm", "suffix": ".webm", "format": "webm", "faststart": False,
        "video": "libvpx", "video_options": {"threads": "1", "deadline": "good", "crf": "40", "b": "50k"},
        "audio": "libopus", "rate": 48_000, "layout": "mono", "bitrate": 32_000,
    },
    {
        "id": "sample-library",
        "text": "The city library will be closed on Monday while the painters finish the new reading room.",
        "container": "mkv", "suffix": ".mkv", "format": "matroska", "faststart": False,
        "video": "libx264", "video_options": {"crf": "38", "preset": "medium", "threads": "1"},
        "audio": "libmp3lame", "rate": 22_050, "layout": "mono", "bitrate": 32_000,
    },
    {
        "id": "sample-garden",
        "text": "She planted tomatoes, beans and tall sunflowers in the garden behind the old stone house.",
        "container": "mp3", "suffix": ".mp3", "format": "mp3", "faststart": False,
        "video": None, "video_options": {},
        "audio": "libmp3lame", "rate": 22_050, "layout": "mono", "bitrate": 32_000,
    },
    {
        "id": "sample-lights",
        "text": "Remember to switch off the lights and lock the front door before you go to bed.",
        "container": "mp4", "suffix": ".mp4", "format": "mp4", "faststart": False,
        "video": "libx264", "video_options": {"crf": "38", "preset": "medium", "threads": "1"},
        "audio": "aac", "rate": 16_000, "layout": "mono", "bitrate": 32_000,
    },
]


def speak(text: str, voice: str, speed: int) -> tuple[np.ndarray, int]:
    """espeak-ng's rendering of ``text``: int16 mono samples and their rate."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        sys.exit("espeak-ng is needed to generate the samples: apt-get install -y espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "speech.wav"
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-w", str(wav_path), text], check=True)
        with wave.open(str(wav_path), "rb") as w:
            assert w.getnchannels() == 1 and w.getsampwidth() == 2
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    # A little silence either side, as in a real recording.
    pad = np.zeros(int(0.3 * rate), dtype=np.int16)
    return np.concatenate([pad, pcm, pad]), rate


def picture(index: int) -> np.ndarray:
    """A slowly moving bar on a colour that drifts with time: cheap to encode, deterministic."""
    img = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    img[:] = (40 + (index * 3) % 120, 70, 140 - (index * 2) % 100)
    x = (index * 2) % WIDTH
    img[:, x : x + 6] = (240, 230, 200)
    return img


def encode(clip: dict, pcm: np.ndarray, rate: int) -> bytes:
    buf = io.BytesIO()
    seconds = len(pcm) / rate
    options = {"fflags": "+bitexact"}
    with av.open(buf, mode="w", format=clip["format"], options=options) as out:
        vstream = None
        if clip["video"]:
            vstream = out.add_stream(clip["video"], rate=FPS)
            vstream.width, vstream.height, vstream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
            vstream.codec_context.options = dict(clip["video_options"])
            vstream.codec_context.flags |= av.codec.context.Flags.bitexact
        astream = out.add_stream(clip["audio"], rate=clip["rate"], layout=clip["layout"])
        astream.bit_rate = clip["bitrate"]
        astream.codec_context.flags |= av.codec.context.Flags.bitexact

        n_video = int(round(seconds * FPS)) if vstream else 0
        vi = ai = 0
        chunk = 1024
        while vi < n_video or ai < len(pcm):
            if vi < n_video and (vi / FPS <= ai / rate or ai >= len(pcm)):
                frame = av.VideoFrame.from_ndarray(picture(vi), format="rgb24")
                frame.pts, frame.time_base = vi, Fraction(1, FPS)
                out.mux(vstream.encode(frame))
                vi += 1
            else:
                piece = pcm[ai : ai + chunk]
                frame = av.AudioFrame.from_ndarray(piece.reshape(1, -1), format="s16", layout="mono")
                frame.sample_rate, frame.pts, frame.time_base = rate, ai, Fraction(1, rate)
                out.mux(astream.encode(frame))
                ai += len(piece)
        if vstream:
            out.mux(vstream.encode(None))
        out.mux(astream.encode(None))
    data = buf.getvalue()
    if clip["faststart"]:
        data = move_index_to_front(data)
    return data


def probe(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as c:
        audio = c.streams.audio[0]
        video = c.streams.video[0] if c.streams.video else None
        if audio.duration and audio.time_base:
            duration = float(audio.duration * audio.time_base)
        else:
            duration = c.duration / 1_000_000
        return {
            "duration_seconds": round(duration, 3),
            "audio_codec": audio.codec_context.name,
            "audio_rate": audio.codec_context.sample_rate,
            "video_codec": video.codec_context.name if video else None,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "samples", help="output folder (default: samples/)")
    parser.add_argument("--voice", default="en-us")
    parser.add_argument("--speed", type=int, default=150, help="espeak-ng words per minute")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    manifest = []
    for clip in CLIPS:
        pcm, rate = speak(clip["text"], args.voice, args.speed)
        data = encode(clip, pcm, rate)
        name = clip["id"] + clip["suffix"]
        (args.out / name).write_bytes(data)
        entry = {
            "id": clip["id"],
            "file": name,
            "text": clip["text"],
            "container": clip["container"],
            **probe(data),
            "bytes": len(data),
        }
        if clip["format"] == "mp4":
            entry["mp4_index"] = "front" if clip["faststart"] else "end"
        manifest.append(entry)
        index = f" (index at the {entry['mp4_index']})" if "mp4_index" in entry else ""
        print(f"{name:24} {len(data):7d} bytes  {entry['duration_seconds']:5.2f} s  {clip['container']}{index}")
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"total {sum(e['bytes'] for e in manifest)} bytes in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
