"""Rules for the test suite itself: a broken import of the package must fail a test, never read as a skip."""
from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent
#: ``pytest.importorskip("timm_augmix_plugin...")`` or a skip guarded by ``hasattr`` on one of the package's modules
_OWN_IMPORT_SKIP = re.compile(r"importorskip\(\s*[\"']timm_augmix_plugin|not available yet|not complete yet")


def test_no_test_skips_when_the_package_itself_fails_to_import():
    offenders = [f"{path.name}:{number}" for path in sorted(TESTS.glob("*.py")) if path.name != Path(__file__).name
                 for number, line in enumerate(path.read_text().splitlines(), 1) if _OWN_IMPORT_SKIP.search(line)]
    assert not offenders, f"tests that skip when the package's own modules fail to import: {offenders}; " \
                          "import the module at the top of the test file so that a broken import fails."
