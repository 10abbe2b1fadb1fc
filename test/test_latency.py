import numpy as np
import pytest

from follow_line.bench.runner import plan, run_bench
from follow_line.driving.expert import ExpertDriver
from follow_line.driving.latency import CommandQueue, Latency, parse_latency
from follow_line.driving.run import RunSpec, run_drive
from follow_line.errors import FollowLineError


@pytest.mark.parametrize("text, latency", [
    ("0", Latency(0.0)), ("100", Latency(100.0)), ("12.5", Latency(12.5)),
    ("measured", Latency(None, 1.0)), ("measured:4", Latency(None, 4.0))])
def test_latency_forms(text, latency):
    assert parse_latency(text) == latency
    assert parse_latency(latency.label) == latency


@pytest.mark.parametrize("text", ["-5", "nan", "inf", "fast", "measured:0", "measured:x", "1:2"])
def test_bad_latencies_name_the_allowed_forms(text):
    with pytest.raises(FollowLineError, match="milliseconds .* 'measured:FACTOR'"):
        parse_latency(text)


def test_queue_of_depth_one_skips_the_frames_a_busy_driver_missed():
    queue = CommandQueue()
    queue.offer(0.0)
    assert queue.start(0.0) == 0.0
    queue.computed(0.0, 0.075, (1.0, 0.0))
    queue.offer(0.05)
    assert queue.start(0.05) is None  # busy until 0.075: the frame waits
    assert queue.next_event(0.05, 0.1) == pytest.approx(0.075)
    assert queue.due(0.075) == (1.0, 0.0)
    assert queue.start(0.075) == 0.05  # free: takes the waiting frame at once
    queue.computed(0.075, 0.075, (2.0, 0.0))
    queue.offer(0.1)
    queue.offer(0.15)  # replaces the frame of 0.1, never driven
    assert queue.start(0.15) == 0.15
    assert (queue.driven, queue.skipped) == (3, 1)


class Recording(ExpertDriver):
    """The explicit driver, remembering the frame times it was given."""

    def reset(self):
        super().reset()
        self.times = []

    def __call__(self, image, t):
        self.times.append(round(t, 6))
        return super().__call__(image, t)


def test_a_delayed_command_acts_later_and_the_car_waits_for_it(oval):
    driver = Recording()
    record = run_drive(RunSpec(oval, "clockwise", latency=Latency(75.0)), driver)
    # 0.05 waits and is taken at 0.075; 0.1 waits and is replaced by 0.15 at 0.15; ...
    assert driver.times[:6] == [0.0, 0.05, 0.15, 0.2, 0.3, 0.35]
    assert record["latency"] == "75" and record["latency_ms_mean"] == 75.0
    assert record["frames_driven"] == len(driver.times)
    assert record["frames_skipped"] > 0.3 * record["frames_driven"]
    assert record["control_rate_hz"] < 15.0
    trajectory = record["trajectory"]
    assert trajectory["x"][1] == trajectory["x"][0]  # no command yet during the first 50 ms
    assert trajectory["x"][2] != trajectory["x"][1]


def test_lockstep_is_latency_zero_and_drives_every_frame(oval):
    driver = Recording()
    record = run_drive(RunSpec(oval, "clockwise"), driver)
    assert record["latency"] == "0" and record["frames_skipped"] == 0
    assert record["frames_driven"] == len(driver.times) == len(record["trajectory"]["t"]) - 1
    assert record["control_rate_hz"] == 20.0
    assert np.allclose(np.diff(driver.times), 0.05)


def test_a_latency_sweep_writes_its_table_and_plot_and_keeps_lockstep_identities(tmp_path,
                                                                                 oval_file):
    steady = plan(["expert"], [str(oval_file)], ["clockwise"])
    sweep = plan(["expert"], [str(oval_file)], ["clockwise"], latencies=["0", "100", "0"])
    assert [r.latency for r in sweep] == ["0", "100"]
    assert sweep[0].key == steady[0].key  # records made before latencies still count
    assert sweep[1].key.startswith("expert__oval__clockwise__r0__lat100__")
    records = run_bench(sweep, tmp_path, jobs=1, progress=False)
    assert [r["latency"] for r in records] == ["0", "100"]
    table = (tmp_path / "latency.md").read_text()
    assert "| Driver | 0 ms | 100 ms |" in table
    assert "| Manual | 100 % (1/1) ×1.00 |" in table
    assert (tmp_path / "plots" / "latency.png").stat().st_size > 1000
    assert "<h2>Latency</h2>" in (tmp_path / "report.html").read_text()
    results = (tmp_path / "results.md").read_text()
    assert results.count("| Manual |") == 2  # driving table (lockstep only) + latency table
