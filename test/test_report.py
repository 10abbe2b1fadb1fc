from follow_line.report import driving_table, format_lap_time


def rec(driver, circuit, direction, pct, laps):
    return {"driver": driver, "circuit": circuit, "direction": direction,
            "completion_pct": pct, "lap_times_s": laps}


def test_lap_time_format_matches_the_seed():
    assert format_lap_time(95.4) == "1min 35s"
    assert format_lap_time(62.0) == "1min 02s"
    assert format_lap_time(41.0) == "41s"
    assert format_lap_time(None) == ""


def test_table_has_a_pair_of_columns_per_driver_and_a_row_per_run():
    table = driving_table([
        rec("expert", "simple", "clockwise", 100.0, [95.0]),
        rec("pilotnet", "simple", "clockwise", 85.0, []),
        rec("expert", "simple", "anticlockwise", 100.0, [92.0]),
        rec("pilotnet", "simple", "anticlockwise", 100.0, [105.0]),
    ])
    lines = table.splitlines()
    assert lines[2] == ("| Circuits | Manual Percentage | Manual Time | pilotnet Percentage "
                        "| pilotnet Time |")
    assert lines[4] == "| Simple (clockwise) | 100% | 1min 35s | 85% |  |"
    assert lines[5] == "| Simple (anti-clockwise) | 100% | 1min 32s | 100% | 1min 45s |"


def test_repeats_show_mean_and_spread():
    table = driving_table([rec("expert", "monaco", "clockwise", 100.0, [80.0]),
                           rec("expert", "monaco", "clockwise", 100.0, [82.0])])
    assert "| Monaco (clockwise) | 100% ± 0 | 1min 21s ± 1.4s |" in table
