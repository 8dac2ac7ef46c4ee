"""Environment stamp: fields present, cached and fast, git commit/dirty from a temp repo."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bench import envinfo
from bench.envinfo import environment, git_state, versions


def test_environment_fields():
    env = environment(refresh=True)
    assert set(env) == {"git_commit", "git_dirty", "versions", "hardware", "python",
                        "platform", "hostname"}
    assert set(env["versions"]) == set(envinfo.PACKAGES)
    assert env["versions"]["bench"]  # metadata, or the package's own version from a checkout
    hw = env["hardware"]
    assert hw["cores"] >= 1 and hw["ram_bytes"] > 2**28 and isinstance(hw["gpus"], list)
    assert hw["cpu"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["hostname"] and env["platform"]
    # this checkout is a git repository: a 40-hex commit and a boolean dirty flag
    if env["git_commit"] is not None:
        assert len(env["git_commit"]) == 40 and isinstance(env["git_dirty"], bool)


def test_environment_is_cached_and_fast(monkeypatch):
    first = environment()
    monkeypatch.setattr(envinfo, "git_state", lambda path: pytest.fail("git ran again"))
    t = time.perf_counter()
    for _ in range(10):
        again = environment()
    assert (time.perf_counter() - t) / 10 < 0.1
    assert again == first
    again["versions"]["torch"] = "edited"  # a caller's copy, not the cache
    assert environment()["versions"]["torch"] == first["versions"]["torch"]


def test_versions_of_a_missing_package_is_null():
    assert versions(("surely-not-installed-pkg-xyz", "pytest")) == {
        "surely-not-installed-pkg-xyz": None, "pytest": pytest.__version__}


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


def test_git_state_clean_dirty_and_untracked(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.py").write_text("x = 1\n")
    git(repo, "add", "a.py")
    git(repo, "commit", "-q", "-m", "first")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    (repo / "sub").mkdir()
    assert git_state(repo / "sub") == (head, False)  # any folder inside the working tree
    (repo / "scratch.txt").write_text("untracked\n")
    assert git_state(repo) == (head, False)  # untracked files do not count
    (repo / "a.py").write_text("x = 2\n")
    assert git_state(repo) == (head, True)
    git(repo, "add", "a.py")
    assert git_state(repo) == (head, True)  # staged but not committed is dirty too


def test_git_state_outside_a_repo_or_without_git(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_state(tmp_path) == (None, None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git binary on PATH
    assert git_state(tmp_path) == (None, None)
