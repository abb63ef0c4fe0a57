"""``polyad explore`` on a real PostgreSQL server: how several machines share
one study (optuna's RDB storage through SQLAlchemy and psycopg2).

The test starts a throw-away server (Debian's PostgreSQL binaries, a data
directory in a temporary directory, a Unix socket only, no TCP port) and
stops it after. Run by ``make test-all``; skipped, saying why, where the
server binaries or the psycopg2 driver are absent. Oracle: optuna's storage
read back from the server after the workers ended.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import optuna
import pytest

import polyad
from polyad.tools.explore import study

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
GEMM = ROOT / "examples" / "gemm.c"
TINY = {"ni": 6, "nj": 7, "nk": 5}
#: The server refuses to run as root: as root, it runs as this user.
SERVER_USER = "postgres"


def _server_binaries() -> Path | None:
    """The directory holding initdb, pg_ctl and createdb, if any."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent  # Debian links some of them only
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


@pytest.fixture
def postgres_url():
    """The URL of a database on a fresh server, stopped after the test."""
    binaries = _server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed "
                    "(Debian: apt install postgresql)")
    pytest.importorskip("psycopg2", reason="the psycopg2 driver is not installed "
                        "(pip install psycopg2-binary, part of the test extra)")
    # Not pytest's tmp_path: its parents are private to root, and the
    # server runs as another user.
    with tempfile.TemporaryDirectory(prefix="polyad-postgres-") as directory:
        yield from _served(binaries, Path(directory))


def _served(binaries: Path, tmp_path: Path):
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.skip(f"running as root, and there is no user {SERVER_USER!r} to run "
                        "the server as")
        os.chown(tmp_path, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", SERVER_USER, "--"]
    data, port = tmp_path / "data", str(50000 + os.getpid() % 10000)

    def run(*command: str) -> None:
        done = subprocess.run(prefix + list(command), capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")
    run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
        "--no-sync")
    run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(tmp_path / "server.log"), "-w",
        "-o", f"-k {tmp_path} -c listen_addresses='' -p {port} -c fsync=off", "start")
    try:
        run(str(binaries / "createdb"), "-h", str(tmp_path), "-p", port, "-U", "postgres",
            "explore")
        yield f"postgresql+psycopg2://postgres@/explore?host={tmp_path}&port={port}"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")


def test_two_workers_share_one_postgresql_study_and_a_second_run_resumes(postgres_url):
    """Two processes on one study finish its trials between them, each trial
    numbered once and finished, auto once; a second explore continues the
    count on the same server."""
    kernel = polyad.parse(GEMM)
    found = study.explore(kernel, TINY, trials=4, storage=postgres_url, repeat=1,
                          layouts=["exact"], workers=2, confirm=False)
    loaded = optuna.load_study(study_name=found.study.study_name, storage=postgres_url)
    assert sorted(t.number for t in loaded.trials) == [0, 1, 2, 3]
    assert all(t.state.is_finished() for t in loaded.trials)
    assert sum(bool(t.user_attrs.get(study.AUTO_ATTRIBUTE)) for t in loaded.trials) == 1
    assert sorted(t.user_attrs["worker"] for t in loaded.trials) == [0, 0, 1, 1]
    again = study.explore(kernel, TINY, trials=2, storage=postgres_url, repeat=1,
                          layouts=["exact"], confirm=False)
    assert again.study.study_name == found.study.study_name
    reloaded = optuna.load_study(study_name=found.study.study_name, storage=postgres_url)
    assert sorted(t.number for t in reloaded.trials) == [0, 1, 2, 3, 4, 5]
