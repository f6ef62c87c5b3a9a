"""Every command (and sub-command) has help, and bad arguments fail cleanly."""

from __future__ import annotations

import argparse
import io

import pytest

from sanctionwatch.cli.main import build_parser, main


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found.extend(_commands(sub, (*prefix, name)))
    return found


COMMANDS = _commands(build_parser())


def test_expected_commands_exist() -> None:
    names = {c[0] for c in COMMANDS}
    assert {"run", "match", "feeds", "export", "check", "status"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"], out=io.StringIO())
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "usage:" in text and command[-1] in text
    # a description, not just the usage line
    assert len(text.strip().splitlines()) > 3


def test_bad_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["export", "--since", "2026-13-01", "--until", "2026-12-01"])
    assert exit_info.value.code == 2
    assert "not a date" in capsys.readouterr().err
