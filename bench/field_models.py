"""The models that help in the field, on 2 cores: transcription seconds per second of audio, OCR seconds per photo.

    python bench/field_models.py [--repeat 3]

Voice notes of about 10, 30 and 60 seconds are spoken by Debian's `flite` and recorded as a browser does (Opus in
WebM); each is decoded and transcribed as the worker's job does (`field_tests.speech`). Dataplates are drawn with
Pillow and kept as the device form keeps them (a 1600 px JPEG) before they are read as the job does
(`devices.ocr`). Loading each model is timed apart, once (a worker keeps it). The process is held to 2 cores.
Nothing here needs the database: the jobs' own work around the models is a few small transactions.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from flowtrack.core.images import prepared_photo  # noqa: E402
from flowtrack.devices import ocr  # noqa: E402
from flowtrack.field_tests import speech  # noqa: E402
from tests.devices.factories import dataplate_photo  # noqa: E402
from tests.field_tests.factories import recorded_audio  # noqa: E402

SENTENCES = [
    "check valve one closed tight at two point four psid.",
    "the relief valve opened at three point one.",
    "check valve two held at one point eight.",
    "customer says the vault lid is broken and needs a new one.",
    "replaced the rubber disc on check valve two and retested.",
    "shutoff valve two leaks a little at the packing nut.",
]
PLATES = {
    "watts": ("WATTS", ("MODEL 909", "SIZE 3/4 IN", "SERIAL NO. AB12345", "MAX 175 PSI  33-180 F")),
    "febco": ("FEBCO", ("MOD. 825Y  SIZE 2 IN", "S/N: J73519", "WORKING PRESSURE 175 PSI")),
}


def two_cores() -> int:
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 2:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def spoken(seconds: float) -> bytes:
    """A voice note of about `seconds`: the sentences over and over, spoken by flite, as a browser records it."""
    words = []
    while len(words) < seconds * 2.6:  # flite speaks about 2.6 words a second
        words += " ".join(SENTENCES).split()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "note.wav"
        subprocess.run(["flite", "-voice", "rms", "-t", " ".join(words[:round(seconds * 2.6)]), "-o", str(path)],
                       check=True)
        with wave.open(str(path)) as spoken_wave:
            samples = np.frombuffer(spoken_wave.readframes(spoken_wave.getnframes()), dtype=np.int16)
            return recorded_audio(samples, rate=spoken_wave.getframerate())


def timed(work, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    cores = two_cores()
    report: dict = {"cores": cores}

    started = time.perf_counter()
    speech.load()
    report["speech_model_load_s"] = round(time.perf_counter() - started, 2)
    for length in (10, 30, 60):
        note = spoken(length)
        decode_s, samples = timed(lambda note=note: speech.pcm(note, "audio/webm"), options.repeat)
        audio_s = speech.seconds(samples)
        transcribe_s, words = timed(lambda samples=samples: speech.transcribe(samples), options.repeat)
        report[f"voice_{length}s"] = {
            "audio_s": round(audio_s, 1), "webm_bytes": len(note), "decode_s": round(decode_s, 3),
            "transcribe_s": round(transcribe_s, 2),
            "seconds_per_audio_second": round((decode_s + transcribe_s) / audio_s, 3),
            "words_heard": len(words.split())}

    started = time.perf_counter()
    ocr.load()
    report["ocr_model_load_s"] = round(time.perf_counter() - started, 2)
    for name, (maker, lines) in PLATES.items():
        kept = prepared_photo(dataplate_photo(maker, lines)).full  # as the device form keeps it
        read_s, found = timed(lambda kept=kept: ocr.read_lines(kept), options.repeat)
        report[f"plate_{name}"] = {"photo_bytes": len(kept), "ocr_s": round(read_s, 2), "lines": found}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
