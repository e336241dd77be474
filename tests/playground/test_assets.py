"""The page works offline: vendored files match their manifest, and no page or asset points anywhere
but loopback."""

import hashlib
import json
import re
from pathlib import Path

import nnlab.playground

STATIC = Path(nnlab.playground.__file__).parent / "static"
URL = re.compile(r"""(?:https?:|wss?:|ftp:)?//[a-z0-9.\-\[\]:]+""", re.I)
LOOPBACK = re.compile(r"//(127\.0\.0\.1|localhost|\[::1\])(?=[:/]|$)", re.I)


def _text_without_banner(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    # the vendored file's licence banner names its home page; it is a comment, never requested
    return re.sub(r"\A/\*![^*]*\*/", "", text) if "vendor" in path.parts else text


def test_vendored_files_match_the_manifest_and_ship_their_licence():
    manifest = json.loads((STATIC / "vendor" / "manifest.json").read_text())
    assert manifest["uplot"]["version"] == "1.6.32" and manifest["uplot"]["license"] == "MIT"
    for name, digest in manifest["uplot"]["files"].items():
        assert hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (STATIC / "vendor" / manifest["uplot"]["license_file"]).read_text()
    listed = set(manifest["uplot"]["files"]) | {"manifest.json"}
    assert {p.name for p in (STATIC / "vendor").iterdir()} == listed


def test_no_page_or_asset_references_a_non_loopback_url():
    files = [p for p in STATIC.rglob("*") if p.is_file() and p.suffix in (".html", ".js", ".css", ".json", ".svg")]
    assert len(files) >= 5
    found = []
    for p in files:
        for m in URL.finditer(_text_without_banner(p)):
            s = m.group(0)
            if s.startswith("//") and p.suffix == ".js" and not re.match(r"//[a-z0-9-]+\.[a-z]{2,}", s, re.I):
                continue  # a JS line comment, not a URL
            if not LOOPBACK.search(s):
                found.append(f"{p.relative_to(STATIC)}: {s}")
    assert not found, found
    html = (STATIC / "index.html").read_text()
    for ref in re.findall(r"""(?:src|href)=["']([^"']+)""", html):
        assert ref.startswith(("/static/", "/api/", "data:")), ref


def test_the_checker_catches_an_external_reference(tmp_path):
    bad = 'fetch("https://cdn.example.com/x.js"); const f = "//fonts.example.org/a.css";'
    hits = [m.group(0) for m in URL.finditer(bad) if not LOOPBACK.search(m.group(0))]
    assert hits == ["https://cdn.example.com", "//fonts.example.org"]
    assert not [m for m in URL.finditer("http://127.0.0.1:8765/api") if not LOOPBACK.search(m.group(0))]
