import json
import os
import stat

import pytest

from follow_line.files import json_text, write_json_atomic, write_json_new, write_text_atomic


def test_json_keeps_number_lists_on_one_line_and_reads_back(tmp_path):
    data = {"trajectory": {"x": [1, 2.5, -3e-05], "t": []}, "names": ["a", "b"],
            "pairs": [[1, 2], [3, 4]], "mixed": [None, 1]}
    text = json_text(data)
    assert '"x": [1, 2.5, -3e-05]' in text and '"pairs": [\n    [1, 2],' in text
    assert json.loads(text) == data
    path = tmp_path / "sub" / "r.json"
    write_json_atomic(path, data)
    assert json.loads(path.read_text()) == data
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # the mode open() gives


def test_atomic_writes_of_bytes_leave_no_temporary_files(tmp_path):
    path = tmp_path / "blob.bin"
    write_text_atomic(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["blob.bin"]


def test_write_json_new_never_replaces_a_file(tmp_path):
    target = tmp_path / "runs" / "record.json"
    first = write_json_new(target, {"run": 1})
    second = write_json_new(target, {"run": 2})
    target.with_name("record_3.json").write_text("the user's own")
    fourth = write_json_new(target, {"run": 4})
    assert (first, second, fourth) == (target, tmp_path / "runs" / "record_2.json",
                                       tmp_path / "runs" / "record_4.json")
    assert [json.loads(p.read_text())["run"] for p in (first, second, fourth)] == [1, 2, 4]
    assert target.with_name("record_3.json").read_text() == "the user's own"
    assert sorted(p.name for p in target.parent.iterdir()) == [
        "record.json", "record_2.json", "record_3.json", "record_4.json"]  # no temporary left


def test_an_atomic_write_onto_a_folder_names_the_folder_not_a_temporary_file(tmp_path):
    import errno

    folder = tmp_path / "results.json"
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(IsADirectoryError) as info:
        write_text_atomic(folder, "{}")
    assert info.value.filename == str(folder) and info.value.errno == errno.EISDIR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no temporary left
    assert [p.name for p in folder.iterdir()] == ["inside"]  # the folder untouched


@pytest.mark.parametrize("name", ["results.json", "report.html"])
def test_a_bench_whose_report_path_is_a_folder_stops_before_driving(tmp_path, capsys, name):
    from follow_line.cli import main

    (tmp_path / "b" / name).mkdir(parents=True)
    assert main(["bench", "--models", "expert", "--circuits", "simple", "--out",
                 str(tmp_path / "b"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (f"follow-line: error: {tmp_path / 'b' / name} is a folder: bench writes its "
                   f"{name} there; move the folder away or choose another --out\n")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [name]  # nothing driven
