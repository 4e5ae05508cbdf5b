"""Probing and seeking decode with PyAV: which frames a video has, at what true time, and the
pixels of just the frames asked for.

Times come from presentation timestamps (PTS), never from `index / fps`, so variable frame rate
and streams that do not start at 0 get their real times. `probe` reads every packet's PTS by
demuxing (no decoding, except one frame for the rotation); `read_frames` seeks to the keyframe
before each wanted frame and decodes forward, reusing one decode run for nearby frames."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from videofocus.errors import MediaError

# A clip larger than this is refused before decoding: ask for fewer frames or a smaller `size`.
MAX_CLIP_BYTES = 8 * 1024**3
# Demuxers that read single still images: such a file is an image, not a video.
_IMAGE_DEMUXERS = ("image2",)


@dataclass(frozen=True, eq=False)
class VideoInfo:
    """What a video holds, from its container and packet timestamps (see `probe`).

    `width`/`height` are the display size (after `rotation`). `rotation` is the clockwise angle in
    degrees (0, 90, 180, 270) by which decoded pictures are turned for display, as in the classic
    `rotate` tag. `frame_times[i]` is frame i's time in seconds from the first frame
    (`pts - start_time`), sorted; `pts` holds the same times as integers in `time_base`.
    `header_duration` is what the container's header declares for the stream (None if nothing):
    longer than `duration` when the file was cut short after its header was written."""

    path: str
    duration: float
    fps: float
    num_frames: int
    width: int
    height: int
    rotation: int
    start_time: float
    frame_times: np.ndarray = field(repr=False)
    pts: np.ndarray = field(repr=False)
    time_base: Fraction = field(repr=False)
    keyframe_indices: np.ndarray = field(repr=False)
    codec: str = ""
    header_duration: float | None = None


@dataclass(eq=False)
class Clip:
    """Decoded frames with their true times.

    `frames` is (T, H, W, 3) uint8 RGB in display orientation; `timestamps[k]` is the time in
    seconds from the start of the video of `frames[k]`, which is frame `indices[k]` of `info`."""

    frames: np.ndarray
    timestamps: np.ndarray
    indices: np.ndarray
    info: VideoInfo


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's duration, frame count, frame times, size and rotation.

    Frame times come from the PTS of every packet of the first video stream (demuxed, not
    decoded); the first frame is decoded to learn the rotation and to make sure the stream can be
    decoded at all. Raises MediaError naming the file for anything that is not a readable video."""
    path = _checked_file(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        first_frame = _first_frame(container, stream, path)
        rotation = _rotation(first_frame, stream)
    with _open(path) as container:
        stream = _video_stream(container, path)
        packets = _packet_table(container, stream, path)
    return _video_info(path, stream, packets, first_frame, rotation)


def read_frames(info_or_path: VideoInfo | str | os.PathLike, indices, *,
                size: tuple[int, int] | None = None, reuse: Clip | None = None) -> Clip:
    """Decode the frames `indices` (into `info.frame_times`), in the order given.

    Seeks to the keyframe before each wanted frame and decodes forward; wanted frames that share a
    keyframe run are served by one decode. `size=(height, width)` resizes each frame (display
    orientation) while converting it, which saves memory for long clips. `reuse` is a clip decoded
    earlier from the same video at the same size: its frames are copied instead of decoded again
    (an iterative-perception round keeps many of the previous round's frames)."""
    info = info_or_path if isinstance(info_or_path, VideoInfo) else probe(info_or_path)
    indices = _checked_indices(info, indices)
    out_h, out_w = (info.height, info.width) if size is None else _checked_size(info, size)
    wanted = np.unique(indices)
    if wanted.size * out_h * out_w * 3 > MAX_CLIP_BYTES:
        raise MediaError(f"{info.path}: {wanted.size} frames of {out_w}x{out_h} need more than "
                         f"{MAX_CLIP_BYTES // 1024**3} GiB; sample fewer frames or pass a smaller size")
    frames = np.empty((wanted.size, out_h, out_w, 3), dtype=np.uint8)
    to_decode = _fill_from(reuse, info, wanted, frames)
    if to_decode.size:
        _decode_into(info, wanted, to_decode, frames, (out_h, out_w))
    if not np.array_equal(wanted, indices):  # unsorted or repeated: copy into the order asked
        frames = frames[np.searchsorted(wanted, indices)]
    return Clip(frames=frames, timestamps=info.frame_times[indices], indices=indices, info=info)


# --- probing ---------------------------------------------------------------------------------

def _checked_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if not path.is_file():
        raise MediaError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: the file is empty")
    return path


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: cannot be read as a video ({_reason(exc)})") from exc


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if container.format.name in _IMAGE_DEMUXERS or container.format.name.endswith("_pipe"):
        raise MediaError(f"{path}: is a still image ({container.format.name}), not a video")
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:  # cover art is no video
            return stream
    found = ", ".join(sorted({s.type for s in container.streams})) or "none"
    raise MediaError(f"{path}: has no video stream (streams found: {found})")


def _first_frame(container, stream, path: Path) -> av.VideoFrame:
    errors = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()  # the final empty packet flushes the decoder
            except av.error.InvalidDataError:
                errors += 1
                continue
            if frames:
                return frames[0]
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: the video stream cannot be read ({_reason(exc)})") from exc
    detail = f"{errors} packets failed to decode" if errors else "the stream has no frames"
    raise MediaError(f"{path}: no frame can be decoded ({detail})")


def _rotation(frame: av.VideoFrame, stream: av.VideoStream) -> int:
    """Clockwise display rotation: from the display matrix (PyAV reports it counter-clockwise),
    else from a `rotate` tag (matroska spells it ROTATE), rounded to a multiple of 90."""
    degrees = -frame.rotation
    if not degrees:
        tags = {key.lower(): value for key, value in stream.metadata.items()}
        try:
            degrees = float(tags.get("rotate", 0))
        except ValueError:
            degrees = 0
    return int(round(degrees / 90.0)) % 4 * 90


@dataclass
class _Packets:
    pts: np.ndarray          # int64, presentation order
    keyframe_pts: np.ndarray
    end_pts: int             # where the last frame ends
    header_duration: int | None = None  # what the container's header declares, in time_base


def _packet_table(container, stream, path: Path) -> _Packets:
    header_duration = stream.duration  # read while the container is open
    pts, keys, durations = [], [], []
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:  # flush packet / edit-list preroll
                continue
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                raise MediaError(f"{path}: packets carry no timestamps; remux the file (e.g. to mp4)")
            pts.append(stamp)
            keys.append(packet.is_keyframe)
            durations.append(packet.duration or 0)
    except av.FFmpegError:
        pass  # a truncated file: keep the packets read before the damage
    if not pts:
        raise MediaError(f"{path}: the video stream has no frames")
    pts_array = np.asarray(pts, dtype=np.int64)
    unique_pts = np.unique(pts_array)
    keyframe_pts = np.unique(pts_array[np.asarray(keys, dtype=bool)])
    if keyframe_pts.size == 0 or keyframe_pts[0] > unique_pts[0]:
        keyframe_pts = np.concatenate([unique_pts[:1], keyframe_pts])  # decoding starts at the start
    last_duration = durations[int(np.argmax(pts_array))]
    return _Packets(unique_pts, keyframe_pts, int(unique_pts[-1] + _frame_step(unique_pts, last_duration, stream)),
                    header_duration)


def _frame_step(sorted_pts: np.ndarray, last_duration: int, stream: av.VideoStream) -> int:
    """How long the last frame is shown. Packet durations are often made up by muxers (from the
    nominal rate, or DTS steps with B-frames), so the typical step between frames is used."""
    if sorted_pts.size > 1:
        return int(np.median(np.diff(sorted_pts)))
    if last_duration:
        return last_duration
    rate = stream.average_rate or stream.guessed_rate
    return int(round(1 / (rate * stream.time_base))) if rate and stream.time_base else 0


def _video_info(path: Path, stream, packets: _Packets, first_frame, rotation: int) -> VideoInfo:
    time_base = stream.time_base
    start = int(packets.pts[0])
    frame_times = np.array([float((p - start) * time_base) for p in packets.pts.tolist()])
    duration = float((packets.end_pts - start) * time_base)
    width, height = first_frame.width, first_frame.height
    if rotation in (90, 270):
        width, height = height, width
    num_frames = int(packets.pts.size)
    fps = num_frames / duration if duration > 0 else float(stream.average_rate or 0)
    return VideoInfo(
        path=str(path), duration=duration, fps=fps, num_frames=num_frames, width=width,
        height=height, rotation=rotation, start_time=float(start * time_base),
        frame_times=frame_times, pts=packets.pts, time_base=time_base,
        keyframe_indices=np.searchsorted(packets.pts, packets.keyframe_pts),
        codec=stream.codec_context.name,
        header_duration=float(packets.header_duration * time_base) if packets.header_duration else None)


def trim(info: VideoInfo, start: float, end: float) -> VideoInfo:
    """The part [start, end) of a video (seconds from its first frame) as a video of its own: the
    frames whose times fall in it, their times counted from `start`, decoded from the same file.
    Samples about one segment (MVBench's bounded tasks) are shown only that segment, as the official
    evaluation does. MediaError when no frame falls inside."""
    if not (0 <= start < end):
        raise MediaError(f"{info.path}: a segment needs 0 <= start < end, got [{start}, {end}]")
    inside = np.flatnonzero((info.frame_times >= start) & (info.frame_times < end))
    if inside.size == 0:
        raise MediaError(f"{info.path}: no frame in the segment [{start:.2f}, {end:.2f}] s of a "
                         f"{info.duration:.2f} s video")
    first, last = int(inside[0]), int(inside[-1]) + 1
    duration = min(end, info.duration) - start
    # The segment's first frame stands in as a keyframe: seeking backward to it lands on the real one.
    keyframes = np.union1d([0], info.keyframe_indices[(info.keyframe_indices > first) &
                                                      (info.keyframe_indices < last)] - first)
    return replace(info, duration=duration, fps=inside.size / duration, num_frames=int(inside.size),
                   start_time=info.start_time + start, frame_times=info.frame_times[first:last] - start,
                   pts=info.pts[first:last], keyframe_indices=keyframes.astype(np.int64))


# --- decoding --------------------------------------------------------------------------------

def _checked_indices(info: VideoInfo, indices) -> np.ndarray:
    array = np.asarray(indices)
    if array.ndim != 1 or array.size == 0:
        raise MediaError(f"{info.path}: frame indices must be a non-empty 1-D list, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise MediaError(f"{info.path}: frame indices must be integers, got {array.dtype}")
    bad = array[(array < 0) | (array >= info.num_frames)]
    if bad.size:
        raise MediaError(f"{info.path}: frame index {int(bad[0])} is out of range "
                         f"(the video has {info.num_frames} frames)")
    return array.astype(np.int64)


def _checked_size(info: VideoInfo, size: tuple[int, int]) -> tuple[int, int]:
    height, width = (int(v) for v in size)
    if height <= 0 or width <= 0 or height * width > 2**28:
        raise MediaError(f"{info.path}: cannot resize frames to {width}x{height}")
    return height, width


def _fill_from(reuse: Clip | None, info: VideoInfo, wanted: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Copy the frames `reuse` already has into `frames`; return the indices still to decode."""
    if reuse is None or reuse.info.path != info.path or reuse.frames.shape[1:] != frames.shape[1:]:
        return wanted
    reused_index, position = np.unique(reuse.indices, return_index=True)
    have = np.isin(wanted, reused_index)
    frames[have] = reuse.frames[position[np.searchsorted(reused_index, wanted[have])]]
    return wanted[~have]


def _decode_into(info: VideoInfo, wanted: np.ndarray, to_decode: np.ndarray, frames: np.ndarray,
                 size: tuple[int, int]) -> None:
    """Decode frames `to_decode` into `frames[position in wanted]`, seeking as little as needed."""
    keyframe_pts = info.pts[info.keyframe_indices]
    with _open(Path(info.path)) as container:
        stream = _video_stream(container, Path(info.path))
        decoder = _Decoder(container, stream, info)
        for index in to_decode.tolist():
            target = int(info.pts[index])
            keyframe = int(keyframe_pts[np.searchsorted(keyframe_pts, target, side="right") - 1])
            frame = decoder.frame_at(target, keyframe)
            frames[np.searchsorted(wanted, index)] = _to_rgb(frame, info.rotation, size)


class _Decoder:
    """Forward decoding with seeks only where they skip work: a wanted frame whose keyframe lies
    at or before the last decoded frame is reached by decoding on."""

    def __init__(self, container, stream, info: VideoInfo):
        self.container, self.stream, self.info = container, stream, info
        self.frames = None       # iterator of decoded frames from the current position
        self.position = None     # pts of the last decoded frame

    def frame_at(self, target: int, keyframe: int) -> av.VideoFrame:
        if self.position is None or target <= self.position or keyframe > self.position:
            self._seek(keyframe)
        frame = self._decode_until(target)
        if frame is None:  # the demuxer landed after the target: start again from the beginning
            self._seek(int(self.info.pts[0]))
            frame = self._decode_until(target)
        if frame is None or self.position != target:
            raise MediaError(f"{self.info.path}: frame at {self._seconds(target):.3f}s cannot be decoded "
                             "(damaged file?)")
        return frame

    def _seek(self, pts: int) -> None:
        try:
            self.container.seek(pts, stream=self.stream, backward=True)
        except av.FFmpegError as exc:
            raise MediaError(f"{self.info.path}: cannot seek to {self._seconds(pts):.3f}s "
                             f"({_reason(exc)})") from exc
        self.frames = self._decoded_frames()
        self.position = None

    def _decoded_frames(self):
        try:
            for packet in self.container.demux(self.stream):
                yield from packet.decode()
        except av.FFmpegError as exc:
            raise MediaError(f"{self.info.path}: decoding failed after {self._seconds(self.position or 0):.3f}s, "
                             f"the file is damaged or truncated ({_reason(exc)})") from exc

    def _decode_until(self, target: int) -> av.VideoFrame | None:
        """The first frame at or after `target` (its pts is left in `position`), or None if
        decoding from the last seek starts after `target`."""
        for frame in self.frames:
            pts = frame.pts if frame.pts is not None else frame.dts
            if pts is None:
                continue
            if self.position is None and pts > target:
                return None
            self.position = pts
            if pts >= target:
                return frame
        raise MediaError(f"{self.info.path}: the stream ends before {self._seconds(target):.3f}s "
                         "(truncated file?)")

    def _seconds(self, pts: int) -> float:
        return float((pts - int(self.info.pts[0])) * self.info.time_base)


def _to_rgb(frame: av.VideoFrame, rotation: int, size: tuple[int, int]) -> np.ndarray:
    """RGB pixels in display orientation at `size` (height, width)."""
    height, width = size if rotation in (0, 180) else size[::-1]
    if (height, width) == (frame.height, frame.width):
        rgb = frame.to_ndarray(format="rgb24")
    else:
        rgb = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="BICUBIC")
    if rotation:
        rgb = np.ascontiguousarray(np.rot90(rgb, k=-rotation // 90))
    return rgb
