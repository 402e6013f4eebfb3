"""Audio with no speech in it, generated: what a video without narration sounds like.

Each function returns 16 kHz mono float32 samples, deterministic for a seed: digital silence, room
hum (mains hum and its harmonics under a faint hiss), pink noise (1/f, like wind or a fan), and
synthetic music (chords, a bass, hi-hat clicks and a *hummed* melody: a voiced, vibrato source with
nasal-like harmonics, the non-speech sound closest to a voice).
"""

from __future__ import annotations

import numpy as np

R = 16_000


def silence(sec: float) -> np.ndarray:
    return np.zeros(int(sec * R), np.float32)


def room_hum(sec: float, seed: int = 1) -> np.ndarray:
    t = np.arange(int(sec * R)) / R
    rng = np.random.default_rng(seed)
    mains = ((50, 0.05, 0), (100, 0.03, 0.3), (150, 0.02, 1), (250, 0.01, 2))  # Hz, amplitude, phase
    x = sum(a * np.sin(2 * np.pi * f * t + ph) for f, a, ph in mains)
    return (x + 0.004 * rng.standard_normal(t.size)).astype(np.float32)


def pink_noise(sec: float, seed: int = 2, level: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(sec * R)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size)
    f[0] = 1
    spectrum /= np.sqrt(f)
    x = np.fft.irfft(spectrum, n)
    return (level * x / np.std(x)).astype(np.float32)


def music(sec: float, seed: int = 3) -> np.ndarray:
    """Chords (decaying harmonic pads), a bass, hi-hat clicks and a hummed melody, at 100 bpm."""
    rng = np.random.default_rng(seed)
    n = int(sec * R)
    t = np.arange(n) / R
    out = np.zeros(n)
    beat = 60 / 100
    chords = [(220, 277.18, 329.63), (196, 246.94, 293.66), (174.61, 220, 261.63), (196, 246.94, 293.66)]
    melody = [440, 494, 523, 494, 440, 392, 440, 330, 349, 392, 440, 392]
    for i in range(int(sec / beat) + 1):
        s, e = int(i * beat * R), min(n, int((i + 1) * beat * R))
        if s >= n:
            break
        tt = t[s:e] - t[s]
        env = np.exp(-tt * 2)
        chord = chords[(i // 4) % 4]
        for f in chord:
            for h in range(1, 6):
                out[s:e] += 0.03 / h * np.sin(2 * np.pi * f * h * tt) * env
        out[s:e] += 0.08 * np.sin(2 * np.pi * chord[0] / 2 * tt) * np.exp(-tt * 4)
        k = min(e - s, int(0.02 * R))
        out[s : s + k] += 0.05 * rng.standard_normal(k) * np.exp(-np.arange(k) / 80)
        # the hummed melody: a voiced source with 5.5 Hz vibrato, harmonics shaped like /m/ (F1 ~250 Hz)
        f0 = melody[i % len(melody)] / 2
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * tt))) / R
        hum = sum((1.0 / (1 + ((f0 * h - 250) / 150) ** 2)) * np.sin(h * phase) / h for h in range(1, 12))
        attack = np.minimum(1, tt / 0.05) * np.minimum(1, (tt[-1] - tt + 1e-3) / 0.05)
        out[s:e] += 0.12 * hum * attack
    samples: np.ndarray = (0.8 * out / np.max(np.abs(out))).astype(np.float32)
    return samples


NON_SPEECH = {
    "digital-silence": silence,
    "room-hum": room_hum,
    "music-with-hummed-melody": music,
    "pink-noise": pink_noise,
}
