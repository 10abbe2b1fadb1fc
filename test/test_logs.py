import os

from follow_line import logs


def test_native_writes_in_the_block_are_hidden_and_stderr_comes_back(capfd, monkeypatch):
    monkeypatch.delenv(logs.VERBOSE_ENV, raising=False)
    with logs.native_stderr_silenced():
        os.write(2, b"oneDNN custom operations are on\n")
    os.write(2, b"ours\n")
    assert capfd.readouterr().err == "ours\n"


def test_verbose_shows_native_writes(capfd, monkeypatch):
    monkeypatch.setenv(logs.VERBOSE_ENV, "1")
    with logs.native_stderr_silenced():
        os.write(2, b"XNNPACK\n")
    assert capfd.readouterr().err == "XNNPACK\n"
