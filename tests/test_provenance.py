"""The code digests are remembered across processes, and never outlive a change of a file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.store.provenance import closure_digest, digest_of, import_closure


@pytest.fixture
def package(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "render").mkdir(parents=True)
    (root / "render" / "__init__.py").write_text("")
    (root / "render" / "page.py").write_text("from app.words import HELLO\n")
    (root / "words.py").write_text("HELLO = 'hello'\n")
    (root / "other.py").write_text("X = 1\n")  # not in the closure
    return root


def _fresh(root: Path) -> str:
    return digest_of(import_closure(("render",), (), root))


def test_the_remembered_digest_is_the_closure_digest_and_is_used(package: Path) -> None:
    first = closure_digest(("render",), (), package)
    assert first == _fresh(package)
    memo = package / "__pycache__" / "toldfeed-digests.json"
    known = json.loads(memo.read_text())
    assert list(known.values()) == [first]
    # what is remembered is what is answered while no file changed
    memo.write_text(json.dumps(dict.fromkeys(known, "remembered")))
    assert closure_digest(("render",), (), package) == "remembered"
    assert closure_digest(("words",), (), package) == digest_of(
        import_closure(("words",), (), package)
    )


def test_a_changed_file_moves_the_digest_even_with_its_size_and_mtime_kept(package: Path) -> None:
    before = closure_digest(("render",), (), package)
    words = package / "words.py"
    stat = words.stat()
    words.write_text("HELLO = 'howdy'\n")  # same size
    os.utime(words, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the mtime set back, as cp -p does
    after = closure_digest(("render",), (), package)
    assert after != before and after == _fresh(package)
    (package / "other.py").write_text("X = 2\n")  # outside the closure: same digest, made again
    assert closure_digest(("render",), (), package) == after


def test_a_package_that_cannot_be_written_still_gets_its_digest(package: Path) -> None:
    (package / "__pycache__").write_text("not a folder")  # nothing can be kept under it
    assert closure_digest(("render",), (), package) == _fresh(package)
    assert closure_digest(("render",), (), package) == _fresh(package)
