"""Every module listed in COMMAND_MODULES exists and registers its commands (a missing one is an error)."""

import importlib
import sys

import pytest


cli_main = importlib.import_module("nnlab.cli.main")


def test_listed_command_modules_exist_and_register():
    cli_main.build_parser()
    for mod in cli_main.COMMAND_MODULES:
        assert mod in sys.modules
    assert {"train", "evaluate", "predict", "check", "tune"} <= set(cli_main.COMMANDS)


def test_a_missing_command_module_is_an_error(monkeypatch):
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", cli_main.COMMAND_MODULES + ("nnlab.cli.no_such_cmd",))
    monkeypatch.setattr(cli_main, "_BUILTINS_LOADED", False)
    with pytest.raises(ModuleNotFoundError):
        cli_main.build_parser()
