"""The pinned install: constraints.txt must pin every dependency pyproject.toml declares, within its range."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO


def pins() -> dict[str, str]:
    rows = (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
    found = (re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", row.strip()) for row in rows if not row.startswith("#"))
    return {canonicalize_name(m[1]): m[2] for m in found if m}


def declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = [project["dependencies"], *project["optional-dependencies"].values()]
    return [r for group in groups for r in map(Requirement, group) if canonicalize_name(r.name) != "propscope"]


def test_every_declared_dependency_is_pinned_within_its_range():
    pinned = pins()
    problems = []
    for requirement in declared():
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement}: not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement}: pinned to {version}")
    assert not problems, "constraints.txt is stale; run scripts/lock.sh: " + "; ".join(problems)


def test_torch_stays_pinned_to_the_cpu_release():
    assert pins()["torch"] == "2.13.0"
