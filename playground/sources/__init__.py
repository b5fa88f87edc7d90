"""Frame producers: camera, video file, image file, synthetic patterns. Never imports Qt.

Frames are RGB uint8 HxWx3, C-contiguous. Every source follows the `Source` protocol.
"""

from playground.sources.base import Source
from playground.sources.camera import CAMERA_SIZES, CameraSource, list_cameras
from playground.sources.image import SourceError, read_image
from playground.sources.patterns import PATTERNS, PatternSource
from playground.sources.still import ImageSource, StillSource
from playground.sources.video import VideoSource

__all__ = [
    "CAMERA_SIZES",
    "PATTERNS",
    "CameraSource",
    "ImageSource",
    "PatternSource",
    "Source",
    "SourceError",
    "StillSource",
    "VideoSource",
    "list_cameras",
    "read_image",
]
