from follow_line.bench.report import (
    driving_table,
    format_lap_time,
    results_markdown,
    results_seed_markdown,
    robustness_table,
    seed_table,
)


def rec(driver, circuit, direction, pct, laps):
    return {"driver": driver, "circuit": circuit, "direction": direction,
            "completion_pct": pct, "lap_times_s": laps}


def test_lap_time_format_matches_the_seed():
    assert format_lap_time(95.4) == "1min 35s"
    assert format_lap_time(62.0) == "1min 02s"
    assert format_lap_time(41.0) == "41s"
    assert format_lap_time(None) == ""


def test_seed_table_has_a_pair_of_columns_per_driver_and_a_row_per_run():
    table = seed_table([
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
    table = seed_table([rec("expert", "monaco", "clockwise", 100.0, [80.0]),
                        rec("expert", "monaco", "clockwise", 100.0, [82.0])])
    assert "| Monaco (clockwise) | 100% ± 0 | 1min 21s ± 1.4s |" in table


def test_driving_table_has_a_row_per_driver_and_the_lap_ratio_to_the_explicit_driver():
    table = driving_table([
        rec("pilotnet", "simple", "clockwise", 85.0, []),
        rec("expert", "simple", "clockwise", 100.0, [95.0]),
        rec("pilotnet", "simple", "anticlockwise", 100.0, [105.0]),
        rec("expert", "simple", "anticlockwise", 100.0, [92.0]),
        rec("pilotnet", "monaco", "clockwise", 100.0, [80.0]),
        rec("pilotnet", "monaco", "clockwise", 90.0, []),
    ])
    lines = table.splitlines()
    assert lines[2] == "| Driver | Simple cw | Simple acw | Monaco cw | lap / explicit |"
    assert lines[4] == "| Manual | 100 % 1:35 | 100 % 1:32 |  | 1.00 |"
    assert lines[5] == "| pilotnet | 85 % | 100 % 1:45 | 95 % ±7 | 1.14 |"


def test_seed_layout_is_a_table_per_task_with_the_explicit_driver_in_each():
    records = [dict(rec("expert", "simple", "clockwise", 100.0, [95.0]), task="explicit"),
               dict(rec("pilotnet", "simple", "clockwise", 100.0, [99.0]), task="regression"),
               dict(rec("classification_7w_1v", "simple", "clockwise", 40.0, []),
                    task="classification")]
    md = results_seed_markdown(records)
    regression, classification = md.split("\n\n**")[0], md.split("\n\n**")[1]
    assert "(regression networks)" in regression and "Manual Percentage" in regression
    assert "classification_7w_1v" not in regression
    assert "(classification networks)" in classification
    assert "| Simple (clockwise) | 100% | 1min 35s | 40% |  |" in classification


def test_robustness_table_per_driver_and_perturbation():
    records = [dict(rec("expert", "simple", "clockwise", 100.0, [36.0]),
                    stop_reason="lap_completed"),
               dict(rec("expert", "simple", "clockwise", 40.0, []), stop_reason="off_track",
                    perturbation="dark"),
               dict(rec("expert", "simple", "anticlockwise", 100.0, [36.0]),
                    stop_reason="lap_completed", perturbation="dark"),
               {"driver": "expert", "circuit": "simple", "direction": "clockwise",
                "perturbation": "noise", "error": "RuntimeError: boom"}]
    lines = robustness_table(records).splitlines()
    assert lines[2] == "| Driver | clean | dark | noise |"
    assert lines[4] == "| Manual | 100 % (1/1) | 70 % (1/2) | error |"
    md = results_markdown(records)
    assert "**Driving results**" in md and "**Robustness" in md
    assert "anti-clockwise" not in md  # the driving table holds the clean runs only
    assert "**Robustness" not in results_markdown(records[:1])


def test_runs_all_at_one_measured_latency_get_their_own_driving_table():
    records = [dict(rec(driver, "simple", "clockwise", 100.0, [lap]), latency="measured",
                    stop_reason="lap_completed")
               for driver, lap in (("pilotnet", 37.0), ("expert", 36.0))]
    md = results_markdown(records)
    assert "**Driving results**" in md and "| pilotnet | 100 % 0:37 |" in md
    swept = records + [dict(rec("pilotnet", "simple", "clockwise", 100.0, [36.5]),
                            stop_reason="lap_completed")]
    assert "| pilotnet | 100 % 0:36 |" in results_markdown(swept)  # lockstep rows only
