"""The README's shell examples run as written, and the deploy files say what the code does."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from sanctionwatch.config.settings import load_settings
from tests.support.serveproc import running_serve
from tests.support.slack_api import SlackApiStub

REPO = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "rules/README.md", "watchlists/README.md", "deploy/README.md")
# Examples that install, need root, a real list file or a service manager are not run here.
NOT_RUN = ("pip install", "sudo ", "path/to/", "journalctl", "systemctl", "docker ", "cd /tmp")
BOT = "python bot.py"


def shell_examples() -> list[tuple[str, str]]:
    """(doc, line) for every line of a fenced sh block that runs ``python bot.py``."""
    found = []
    for doc in DOCS:
        text = (REPO / doc).read_text(encoding="utf-8")
        for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", text, re.DOTALL):
            for line in block.splitlines():
                line = line.split("  #", 1)[0].strip()
                if BOT in line and not any(skip in line for skip in NOT_RUN):
                    found.append((doc, line))
    return found


def test_readme_shell_examples_run(tmp_path: Path) -> None:
    examples = shell_examples()
    assert len(examples) >= 6  # the examples this test exists for are still there
    bot = f"{shlex.quote(sys.executable)} {shlex.quote(str(REPO / 'bot.py'))}"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    for doc, line in examples:
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", line.replace(BOT, bot)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{doc}: {line}\n{result.stderr[-2000:]}"
        if "--json" in line and ">" not in line:
            json.loads(result.stdout)  # one JSON document
    assert json.loads((tmp_path / "check.json").read_text())["ok"] is True
    assert (tmp_path / "alerts.csv").read_text().startswith("alert_id,")


def test_rules_readme_match_example_explains_the_rules(tmp_path: Path) -> None:
    (line,) = [x for d, x in shell_examples() if d == "rules/README.md"]
    bot = f"{shlex.quote(sys.executable)} {shlex.quote(str(REPO / 'bot.py'))}"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["bash", "-c", line.replace(BOT, bot)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "[FIRED] rule dprk-russia-arms-transfer" in result.stdout


def test_readme_exit_code_claims() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "exit 2 on a config, watchlist or rule file error" in readme
    assert "refuses entity-declaring DTDs" not in readme
    assert 'bot.py match "<text>"' not in (REPO / "rules/README.md").read_text(encoding="utf-8")


def test_check_exits_2_on_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("backfill_days = -1\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(REPO / "bot.py"), "check", "--config", str(bad)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "backfill_days" in result.stderr


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(REPO / "deploy" / "sanctionwatch.service", encoding="utf-8")
    return parser


def test_systemd_unit_state_and_working_directory_are_writable() -> None:
    service = _unit()["Service"]
    state = "/var/lib/" + service["StateDirectory"]
    assert service["WorkingDirectory"] == state
    assert state in service["ReadWritePaths"].split()
    assert service["ProtectSystem"] == "strict"  # everything else is read-only
    command = shlex.split(service["ExecStart"])
    assert command[0].endswith("/bin/sanctionwatch")  # the installed console script
    config = Path(command[command.index("--config") + 1])
    assert config.parent == Path("/etc/sanctionwatch")
    # the example config writes only below the state directory, with absolute paths
    example = REPO / "deploy" / "sanctionwatch.toml.example"
    raw = example.read_text(encoding="utf-8")
    for key in ("database", "exports_dir"):
        value = re.search(rf'^{key} = "([^"]+)"', raw, re.MULTILINE)
        assert value and value.group(1).startswith(state + "/"), key


def test_example_config_loads(tmp_path: Path) -> None:
    example = REPO / "deploy" / "sanctionwatch.toml.example"
    text = example.read_text(encoding="utf-8").replace("/var/lib/sanctionwatch", str(tmp_path))
    config = tmp_path / "sanctionwatch.toml"
    config.write_text(text, encoding="utf-8")
    settings = load_settings(str(config), env={}, cwd=tmp_path)
    assert settings.database == tmp_path / "sanctionwatch.db"
    assert settings.exports_dir == tmp_path / "exports"


def _dockerfile() -> list[str]:
    text = (REPO / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and line[0] != "#"]


def test_dockerfile_installs_regularly_with_a_dependency_layer_as_non_root() -> None:
    steps = _dockerfile()
    runs = [s for s in steps if s.startswith("RUN ")]
    copies = [i for i, s in enumerate(steps) if s.startswith("COPY ")]
    deps = next(i for i, s in enumerate(steps) if "requirements.txt" in s and "pip install" in s)
    code = next(i for i, s in enumerate(steps) if s.startswith("COPY sanctionwatch"))
    assert steps[copies[0]] == "COPY pyproject.toml ./" and copies[0] < deps < code
    assert not any("pip install -e" in s or "--editable" in s for s in runs)
    assert any("pip install --no-deps ." in s for s in runs)
    users = [s.split()[1] for s in steps if s.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    ignore = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", "*.db", "tests", "*.env"} <= set(ignore)


def test_dockerfile_healthcheck_runs_against_a_live_serve(
    tmp_path: Path, slack_api: SlackApiStub
) -> None:
    (check,) = [s for s in _dockerfile() if s.startswith("HEALTHCHECK")]
    argv = json.loads(check.split(" CMD ", 1)[1])
    assert argv[:3] == ["python", "-m", "sanctionwatch.slackapp.healthcheck"]
    cmd = [s for s in _dockerfile() if s.startswith("CMD ")][-1]
    serve_port = json.loads(cmd[4:])[-1]
    assert argv[argv.index("--port") + 1] == serve_port  # probes the port serve listens on
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    with running_serve(tmp_path, slack_api) as (base, _):
        port = base.rsplit(":", 1)[1]
        argv[argv.index("--port") + 1] = port
        argv[0] = sys.executable
        ok = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert ok.stdout.startswith("200 ")
    gone = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
    assert gone.returncode == 1 and "no answer" in gone.stdout


@pytest.mark.parametrize("doc", DOCS)
def test_docs_name_only_existing_commands(doc: str) -> None:
    from sanctionwatch.cli.main import build_parser

    parser = build_parser()
    names = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    text = (REPO / doc).read_text(encoding="utf-8")
    for command in re.findall(r"bot\.py ([a-z][a-z-]+)", text):
        assert command in names, f"{doc}: bot.py {command}"


def test_dockerfile_builds_the_lemma_tries_where_the_bot_reads_them() -> None:
    from sanctionwatch.matching.lemmadicts import LEMMA_DIR_ENV

    steps = _dockerfile()
    envs = [s for s in steps if s.startswith("ENV ") and LEMMA_DIR_ENV in s]
    assert len(envs) == 1
    folder = envs[0].split(f"{LEMMA_DIR_ENV}=", 1)[1].split()[0]
    assert folder.startswith("/") and not folder.startswith("/data")  # in the image, not the volume
    build = next(i for i, s in enumerate(steps) if "sanctionwatch lemmas --build" in s)
    install = next(i for i, s in enumerate(steps) if "pip install --no-deps ." in s)
    user = max(i for i, s in enumerate(steps) if s.startswith("USER "))
    assert install < build < user  # built by the installed package, before dropping root
    assert steps.index(envs[0]) < build
    assert "a+rX" in steps[build]  # readable by the unprivileged user
