"""Quote recordings: the file format (format.py), the recording sink (writer.py), the reader (reader.py).

A live session is the only source of real data to replay later (the book cannot be fetched from the
broker afterwards), so a recording keeps the exact quote objects, their receive times, the resolved
subscriptions and the source's events, and `sources/replay.py` plays it back onto the same topics.
"""

from txf_producer.recording.format import RecordingError, RecordingHeader
from txf_producer.recording.reader import RecordingReader, open_recording
from txf_producer.recording.writer import Recorder

__all__ = ["Recorder", "RecordingError", "RecordingHeader", "RecordingReader", "open_recording"]
