"""Frame buffer: the last N preprocessed frames, served as stacks, differences or sequences.

Offsets count frames back from the newest (0 is now, -10 is ten frames ago). Until the buffer
has seen enough frames it pads with the first frame it got (warm-up). A jump in time (time
going backwards, or a gap longer than `max_gap_s`) resets it, as does `reset()`.
"""

from __future__ import annotations

import numpy as np

from follow_line.errors import FollowLineError

FRAME_MODES = ("single", "stack", "stack_diff", "sequence")


class FrameBuffer:
    """Ring buffer of preprocessed frames sized by the offsets it must serve."""

    def __init__(self, mode: str = "single", offsets: tuple[int, ...] = (0,),
                 max_gap_s: float = 0.5):
        if mode not in FRAME_MODES:
            raise FollowLineError(f"frame mode {mode!r} is not one of {', '.join(FRAME_MODES)}")
        if not offsets or any(o > 0 for o in offsets) or offsets[0] != 0:
            raise FollowLineError(f"frame offsets {offsets} must start with 0 (the newest frame)"
                                  " and count backwards (negative)")
        if mode in ("stack", "stack_diff") and len(offsets) != 2:
            raise FollowLineError(f"{mode} needs exactly two offsets (now and before), "
                                  f"got {offsets}")
        if mode == "single" and tuple(offsets) != (0,):
            raise FollowLineError(f"single-frame mode takes offsets (0,), got {offsets}")
        self.mode = mode
        self.offsets = tuple(int(o) for o in offsets)
        self.capacity = 1 - min(self.offsets)
        self.max_gap_s = max_gap_s
        self._frames: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every frame (new run, simulation reset)."""
        self.count = 0
        self._head = -1
        self._last_t: float | None = None

    def push(self, frame: np.ndarray, t: float) -> None:
        """Add the newest preprocessed frame, taken at time `t` (seconds)."""
        if self._last_t is not None and (t < self._last_t or t - self._last_t > self.max_gap_s):
            self.reset()
        if self._frames is None or self._frames.shape[1:] != frame.shape:
            self._frames = np.empty((self.capacity, *frame.shape), dtype=np.float32)
            self.count = 0
        self._head = (self._head + 1) % self.capacity
        self._frames[self._head] = frame
        if self.count == 0:  # warm-up: every slot holds the first frame
            self._frames[:] = frame
        self.count += 1
        self._last_t = t

    def frame(self, offset: int) -> np.ndarray:
        """The frame `offset` steps back (<= 0); padded with the first frame during warm-up."""
        if self.count == 0:
            raise FollowLineError("frame buffer is empty: push a frame first")
        if not -self.capacity < offset <= 0:
            raise FollowLineError(f"offset {offset} is outside this buffer "
                                  f"(0 to {1 - self.capacity})")
        back = min(-offset, self.count - 1)
        assert self._frames is not None  # pushed at least once
        return self._frames[(self._head - back) % self.capacity]

    @property
    def warmed_up(self) -> bool:
        """True once every offset is a real frame, not padding."""
        return self.count >= self.capacity

    def network_input(self) -> np.ndarray:
        """The network's input for the newest frame (without the batch axis)."""
        now = self.frame(0)
        if self.mode == "single":
            return now
        if self.mode == "stack":
            return np.concatenate([now, self.frame(self.offsets[1])], axis=-1)
        if self.mode == "stack_diff":
            return np.concatenate([now, now - self.frame(self.offsets[1])], axis=-1)
        return np.stack([self.frame(o) for o in reversed(self.offsets)])  # oldest first
