"""Two different drivers or circuits with the same name get rows of their own."""

from follow_line.bench.labels import distinct_labels
from follow_line.bench.report import driving_table
from follow_line.world.circuits import load_circuit

BUILTIN = load_circuit("simple").source


def record(driver, circuit="simple", lap=50.0, **fields):
    return {"driver": driver, "circuit": circuit, "direction": "clockwise",
            "completion_pct": 100.0, "lap_times_s": [lap], "stop_reason": "lap_completed",
            "circuit_file": BUILTIN, **fields}


def test_two_model_files_of_one_name_are_two_rows_named_by_their_folders():
    records = [record("tinypilotnet.keras", lap=52.3, driver_file="/home/u/a/tinypilotnet.keras"),
               record("tinypilotnet.keras", lap=43.0, driver_file="/home/u/b/tinypilotnet.keras"),
               record("expert", lap=40.0)]
    shown = distinct_labels(records)
    assert [r["driver"] for r in shown] == ["tinypilotnet.keras (a/)",
                                            "tinypilotnet.keras (b/)", "expert"]
    assert shown[0]["driver_name"] == "tinypilotnet.keras" and "driver_name" not in shown[2]
    assert records[0]["driver"] == "tinypilotnet.keras"  # the records themselves unchanged
    table = driving_table(shown)
    assert "| tinypilotnet.keras (a/) | 100 % 0:52 |" in table
    assert "| tinypilotnet.keras (b/) | 100 % 0:43 |" in table  # no mean of the two
    assert distinct_labels(shown) == shown  # labelling twice changes nothing


def test_the_shortest_distinguishing_folders_and_older_records():
    records = [record("m.keras", driver_file="/x/run1/models/m.keras"),
               record("m.keras", driver_file="/x/run2/models/m.keras"),
               record("n.keras", weights="aaaabbbbcccc"), record("n.keras", weights="ddddeeee")]
    assert [r["driver"] for r in distinct_labels(records)] == [
        "m.keras (run1/models/)", "m.keras (run2/models/)",
        "n.keras (weights aaaabbbb)", "n.keras (weights ddddeeee)"]


def test_the_built_in_circuit_and_a_user_file_of_its_name_are_two_rows(tmp_path):
    mine = str(tmp_path / "mine" / "simple.yaml")
    moved = "/old/site-packages/follow_line/world/circuits/simple.yaml"  # still the built-in
    records = [record("expert"), record("expert", circuit_file=moved),
               record("expert", circuit_file=mine, lap=30.0)]
    shown = distinct_labels(records)
    assert [r["circuit"] for r in shown] == ["simple (built-in)", "simple (built-in)",
                                             "simple (mine/)"]
    assert shown[2]["circuit_name"] == "simple"
    table = driving_table(shown)
    assert "Simple (built-in) cw" in table and "Simple (mine/) cw" in table


def test_names_that_are_not_shared_are_kept():
    records = [record("expert"), record("pilotnet", circuit="monaco")]
    assert distinct_labels(records) == records


def test_a_failed_run_naming_no_file_joins_the_only_circuit_of_its_name():
    failed = {"driver": "crashing", "circuit": "oval", "direction": "clockwise",
              "error": "RuntimeError: boom"}
    records = [record("expert", circuit="oval", circuit_file="/u/oval.yaml"), failed]
    assert distinct_labels(records) == records  # one oval: no suffix
    records.append(record("expert", circuit="oval", circuit_file="/v/oval.yaml"))
    shown = distinct_labels(records)
    assert [r["circuit"] for r in shown] == ["oval (u/)", "oval", "oval (v/)"]  # unknown
