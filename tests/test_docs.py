"""The README and docs/ show commands and code that work.

Fenced blocks marked ```sh runnable are run line by line (`polyad` is this
checkout's CLI) and must exit 0; ```python runnable blocks of one file are
run in order in one namespace and must not raise. Both run in a scratch
directory holding `examples/`, so files they write land there. Every fenced
shell block that calls `polyad`, and every Python block, must be marked
runnable, so no command or code can be shown without being run; `make` targets are shown in plain blocks and run
by CI (`make test`) and by the demo test below.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(path: Path) -> list[tuple[str, str, int]]:
    """(info string, body, line) of each fenced block of a markdown file."""
    text = path.read_text()
    return [(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


def shell_commands() -> list[tuple[str, str]]:
    commands = []
    for path in DOCUMENTS:
        for info, body, line in blocks(path):
            if info == "sh runnable":
                commands += [(f"{path.name}:{line}", command) for command in body.splitlines()
                             if command.strip() and not command.lstrip().startswith("#")]
    return commands


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A directory with examples/ and tests/kernels/ in it, and this
    checkout importable."""
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "kernels").symlink_to(ROOT / "tests" / "kernels")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return tmp_path


def test_the_docs_have_runnable_blocks():
    assert len(shell_commands()) >= 15
    assert any(info == "python runnable" for path in DOCUMENTS for info, _, _ in blocks(path))


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_shell_block_calling_polyad_is_runnable(path):
    for info, body, line in blocks(path):
        if info.split()[:1] in (["sh"], ["bash"], ["console"], []) and \
                re.search(r"^\s*polyad ", body, re.MULTILINE):
            assert info == "sh runnable", f"{path.name}:{line}: mark the block runnable"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_python_block_is_runnable(path):
    """A Python example is run, so none shows an import or a call that no
    longer works (the module paths changed with the stage subpackages)."""
    for info, body, line in blocks(path):
        if info.split()[:1] in (["python"], ["py"], ["pycon"]):
            assert info == "python runnable", f"{path.name}:{line}: mark the block runnable"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_no_document_cites_a_file_outside_the_repository(path):
    """Readers have the repository, not the machine it was written on."""
    text = path.read_text()
    for pattern in (r"\.\./shared", r"/work/", r"\bshared/", r"TARGETS\.md", r"GUIDE\.md",
                    r"ISLPY-NOTES", r"\bseeds/", r"/home/", r"/tmp/"):
        for match in re.finditer(pattern, text):
            line = text.count("\n", 0, match.start()) + 1
            assert not _outside_citation(text, match), f"{path.name}:{line}: {match.group()}"


def _outside_citation(text: str, match: re.Match) -> bool:
    """A default path the code itself uses (make fuzz's log) is not a citation."""
    around = text[max(0, match.start() - 40):match.end() + 40]
    return "POLYAD_FUZZ_LOG" not in around and "polyad-fuzz" not in around


@pytest.mark.parametrize("where, command", shell_commands(),
                         ids=[where for where, _ in shell_commands()])
def test_shell_command_succeeds(where, command, scratch):
    words = shlex.split(command, comments=True)
    if words[0] == "polyad":
        words = [sys.executable, "-m", "polyad.cli", *words[1:]]
    done = subprocess.run(words, cwd=scratch, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{where}: {command}\n{done.stderr}"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("path", [p for p in DOCUMENTS
                                  if any(i == "python runnable" for i, _, _ in blocks(p))],
                         ids=lambda p: p.name)
def test_python_blocks_run(path, scratch, monkeypatch, capsys):
    monkeypatch.chdir(scratch)
    namespace: dict = {"__name__": f"docs_{path.stem}"}
    for info, body, line in blocks(path):
        if info == "python runnable":
            code = compile("\n" * (line) + body, str(path), "exec")
            exec(code, namespace)  # noqa: S102 - the documentation's own examples


def test_demo_runs(scratch):
    """`make demo` is examples/demo.sh with the installed CLI and interpreter.

    Oracle: the demo's own sections, read as a new user would: the model's
    summary names the arrays, the tape plan says in words what it records,
    the gradient is one whole C function (its braces balance, it ends the
    excerpt), every oracle says ok, and the speed table has the primal, the
    exact gradient and a JAX row (timed, or saying why not)."""
    cli = scratch / "polyad"
    cli.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m polyad.cli \"$@\"\n")
    cli.chmod(0o755)
    done = subprocess.run([str(ROOT / "examples" / "demo.sh")], cwd=scratch, text=True,
                          capture_output=True, env={**os.environ, "POLYAD": str(cli),
                                                    "PYTHON": sys.executable},
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    sections = re.split(r"^== \d\. ", done.stdout, flags=re.MULTILINE)
    assert len(sections) == 6, done.stdout
    model, tape, gradient, oracles, speed = sections[1:]
    assert "kernel rnn (examples/rnn.c), sizes nt, nh, nx" in model
    assert all(f"{name} double" in model for name in ("Wh", "Wx", "b", "x", "h", "s"))
    assert "S3's partials use the value it writes, h[t + 1][j] at line 19" in tape
    assert re.search(r"exact records 0 values \(0 bytes\); stack would record [1-9]", tape)
    code = gradient.split("\n", 2)[2].strip()
    assert code.startswith("int rnn_b(") and code.endswith("}")
    assert code.count("{") == code.count("}")
    assert oracles.count(" ok ") == 4 and "verdict: ok" in oracles and "FAIL" not in oracles
    assert re.search(r"primal: the C kernel at -O3 +[\d.]+ +1\.00", speed), speed
    assert re.search(r"gradient, exact tape +[\d.]+ +[\d.]+", speed), speed
    assert re.search(r"JAX: jit\(grad\) of a port \(XLA\) +([\d.]+ +[\d.]+|JAX is not installed)",
                     speed), speed
