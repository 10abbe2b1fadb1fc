"""rclpy.timer: Timer, on any clock (rcl's catch-up rule when calls were missed)."""

from __future__ import annotations


class Timer:
    """Calls `callback` every `timer_period_ns` of `clock` time, when its node spins."""

    def __init__(self, callback, callback_group, timer_period_ns, clock, *, context=None):
        if timer_period_ns < 0:
            raise ValueError("timer period must be non-negative")
        self.callback = callback
        self.callback_group = callback_group
        self._clock = clock
        self._period_ns = int(timer_period_ns)
        self._canceled = False
        now = clock.now().nanoseconds
        self._last_call_ns = now
        self._next_call_ns = now + self._period_ns
        self._destroyed = False

    @property
    def clock(self):
        return self._clock

    @property
    def timer_period_ns(self) -> int:
        return self._period_ns

    @timer_period_ns.setter
    def timer_period_ns(self, value):
        self._period_ns = int(value)
        self.reset()

    def is_ready(self) -> bool:
        return not self._canceled and self._clock.now().nanoseconds >= self._next_call_ns

    def is_canceled(self) -> bool:
        return self._canceled

    def cancel(self) -> None:
        self._canceled = True

    def reset(self) -> None:
        now = self._clock.now().nanoseconds
        self._canceled = False
        self._next_call_ns = now + self._period_ns

    def time_until_next_call(self):
        if self._canceled:
            return None
        return self._next_call_ns - self._clock.now().nanoseconds

    def time_since_last_call(self) -> int:
        return self._clock.now().nanoseconds - self._last_call_ns

    def _call(self) -> None:
        now = self._clock.now().nanoseconds
        self._last_call_ns = now
        self._next_call_ns += self._period_ns
        if self._next_call_ns < now:  # missed periods are skipped, not replayed (rcl_timer_call)
            if self._period_ns == 0:
                self._next_call_ns = now
            else:
                ahead = now - self._next_call_ns
                self._next_call_ns += (1 + (ahead - 1) // self._period_ns) * self._period_ns
        self.callback()

    def destroy(self) -> None:
        self._destroyed = True
        self._canceled = True
