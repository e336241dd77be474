"""The README's first example runs as printed and does what it says."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_trains_and_checks_a_gradient():
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)[0]
    assert len(code.strip().splitlines()) <= 15
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    text = out.getvalue()
    accuracy = float(re.search(r"accuracy (\d\.\d+)", text).group(1))
    assert accuracy >= 0.95, text
    assert "gradcheck: OK" in text, text


def test_readme_has_exactly_the_two_setup_commands():
    text = README.read_text()
    block = text.split("## Set-up", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make run", "make test"]


def test_readme_command_lines_parse():
    """Every `nnlab ...` line of the README's command-line block is a valid command."""
    from nnlab.cli.main import build_parser

    text = README.read_text()
    block = text.split("## Command line", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#")[0].split() for line in block.strip().splitlines()]
    assert len(lines) >= 4 and all(words[0] == "nnlab" for words in lines)
    parser = build_parser()
    for words in lines:
        argv = [w.replace("<name>", "demo") for w in words[1:]]
        if argv == ["--help"]:
            continue
        args = parser.parse_args(argv)  # exits (fails the test) on an unknown option or command
        assert args.command == argv[0]


def test_readme_describes_the_main_job_as_it_is():
    """The set-up paragraph's model, epochs and training-set size are the CLI's defaults (its
    accuracy range was measured with `nnlab train --seed S` for S = 0, 1, 2)."""
    from nnlab.train.models import DEFAULT_MODEL, recipe_settings

    text = " ".join(README.read_text().split("## Set-up", 1)[1].split("## A first network", 1)[0].split())
    assert DEFAULT_MODEL == "cnn" and "trains a small CNN" in text
    assert f"for {recipe_settings(DEFAULT_MODEL)['epochs']} epochs" in text
    assert "on the 4,000 training digits" in text
    from nnlab.data.datasets import _DEFAULT_SPLITS

    assert _DEFAULT_SPLITS["mnist5k"][0] == 4000
