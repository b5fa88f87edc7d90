"""Frame producers: camera, video file, image file, synthetic patterns. Never imports Qt.

Frames are RGB uint8 HxWx3, C-contiguous.
"""

from playground.sources.image import SourceError, read_image

__all__ = ["SourceError", "read_image"]
