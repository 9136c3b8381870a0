"""Video files: decoding behind one small interface, dataset layouts and split files, the probe manifest."""

from clipcop.videos.decoder import (
    VideoInfo,
    available_backends,
    probe_video,
    read_frames,
)
from clipcop.videos.layouts import DatasetSplit, VideoItem, load_dataset

__all__ = [
    "DatasetSplit",
    "VideoInfo",
    "VideoItem",
    "available_backends",
    "load_dataset",
    "probe_video",
    "read_frames",
]
