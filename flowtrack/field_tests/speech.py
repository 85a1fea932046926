"""Speech to text on our own servers: the browser's recording decoded to 16 kHz mono PCM (FFmpeg's libraries in
the PyAV wheel) and transcribed by PocketSphinx with the US English model its wheel carries. Nothing is fetched
over the network, and no audio leaves the machine.

The recognizer is loaded once per worker process (the worker runs jobs in its own process) and kept.
"""
from __future__ import annotations

import functools
import io
from typing import Callable

import av

SAMPLE_RATE = 16_000
MAX_SECONDS = 65  # the form stops at 60 seconds; a little slack for the recorder's last chunk
MAX_BYTES = 3 * 1024 * 1024
# The demuxer is named from the type the phone declared, never guessed from the bytes: FFmpeg's guessing would
# also try playlist formats that open other files or URLs.
CONTAINERS = {"audio/webm": "matroska", "audio/ogg": "ogg", "audio/mp4": "mp4"}
CODECS = frozenset({"opus", "vorbis", "aac"})


class AudioRefused(ValueError):
    """Not a recording we can use; the message says why."""


def content_type_of(declared: str | None) -> str:
    """The recording's type without its codecs parameter (`audio/webm;codecs=opus` is `audio/webm`)."""
    kind = (declared or "").split(";")[0].strip().lower()
    if kind not in CONTAINERS:
        raise AudioRefused("Record the voice note in the browser: WebM, Ogg or MP4 audio.")
    return kind


def pcm(data: bytes, content_type: str) -> bytes:
    """The recording as 16-bit 16 kHz mono PCM; AudioRefused when it is not audio we can decode, or too long."""
    if not data:
        raise AudioRefused("The voice note is empty.")
    if len(data) > MAX_BYTES:
        raise AudioRefused(f"A voice note can be at most {MAX_BYTES // (1024 * 1024)} MB.")
    out = bytearray()
    limit = MAX_SECONDS * SAMPLE_RATE * 2
    try:
        with av.open(io.BytesIO(data), format=CONTAINERS[content_type]) as container:
            if not container.streams.audio or container.streams.audio[0].codec_context.name not in CODECS:
                raise AudioRefused("The voice note holds no Opus, Vorbis or AAC audio.")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(container.streams.audio[0]):
                for converted in resampler.resample(frame):
                    out += bytes(converted.planes[0])[:converted.samples * 2]
                if len(out) > limit:
                    raise AudioRefused("A voice note is at most a minute long.")
            for converted in resampler.resample(None):
                out += bytes(converted.planes[0])[:converted.samples * 2]
    except av.FFmpegError:
        raise AudioRefused("That recording could not be read; record the voice note again.") from None
    if not out:
        raise AudioRefused("The voice note is empty.")
    return bytes(out)


def seconds(samples: bytes) -> float:
    return len(samples) / (2 * SAMPLE_RATE)


@functools.cache
def _decoder():
    from pocketsphinx import Decoder  # the model loads here, from the wheel's own folder

    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")


def load() -> None:
    """Load the recognizer now (the benchmark times the loading apart from the work)."""
    _decoder()


def transcribe(samples: bytes, on_progress: Callable[[float], None] = lambda share: None) -> str:
    """What was said, in lower case words ("" when nothing could be made out). The recording is cut where the
    speaker paused and each stretch of speech is recognized whole (the recognizer normalizes a stretch's loudness
    over all of it, which it does better than on the fly); `on_progress` hears the share of the recording done
    after each."""
    from pocketsphinx import Segmenter

    decoder, words = _decoder(), []
    total = seconds(samples)
    for stretch in Segmenter(sample_rate=SAMPLE_RATE).segment(io.BytesIO(samples)):
        decoder.start_utt()
        decoder.process_raw(stretch.pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        if hypothesis is not None:
            words.extend(hypothesis.hypstr.split())
        on_progress(min(1.0, stretch.end_time / total))
    return " ".join(words)
