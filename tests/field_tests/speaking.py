"""Speech made in the tests: a sentence spoken by Debian's `flite` (CMU's Flite), recorded as a browser does
(Opus in WebM).

Why Flite and not espeak-ng: PocketSphinx's US English model was trained on people. Tried here on "check valve one
closed tight" through the whole path (WebM/Opus, 16 kHz), espeak-ng's formant voices gave it 0 to 2 of the 5 words
across 37 voices and two speeds; Flite's voices, recorded people, give it "check valve one close to ..." (3 of 5).
`.ci/run` installs flite; elsewhere the tests that speak are skipped with the reason, and fail instead where
FLOWTRACK_REQUIRE_BROWSER asks for every tool (CI).
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.field_tests.factories import recorded_audio

FLITE = shutil.which("flite")
VOICE = "rms"  # a US English man's voice of the CMU ARCTIC recordings


def require_flite() -> str:
    if FLITE is None:
        reason = "flite is not installed (apt-get install flite; .ci/run installs it): no speech to transcribe"
        if os.environ.get("FLOWTRACK_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)
    return FLITE


def spoken(sentence: str) -> bytes:
    """`sentence` spoken, as the phone's recorder sends it: Opus in WebM."""
    flite = require_flite()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spoken.wav"
        subprocess.run([flite, "-voice", VOICE, "-t", sentence, "-o", str(path)], check=True, timeout=60)
        with wave.open(io.BytesIO(path.read_bytes())) as speech:
            samples = np.frombuffer(speech.readframes(speech.getnframes()), dtype=np.int16)
            return recorded_audio(samples, rate=speech.getframerate())
