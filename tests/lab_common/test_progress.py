import io
import sys

from lab_common import progress


def test_silent_when_not_a_terminal(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    assert sum(progress(range(5), desc="train")) == 10
    assert stream.getvalue() == ""


def test_quiet_silences_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    assert sum(progress(range(5), quiet=True)) == 10
    assert stream.getvalue() == ""
    bar = progress(range(3), file=stream)
    assert not bar.disable
    list(bar)
    assert "0/3" in stream.getvalue()  # the bar was drawn on the terminal
