"""Helpers shared by the tests: real peers (DCMTK, Orthanc, 7-Zip, Chromium...), services on free
ports, databases, sample studies laid out for each kind of test.

Test modules (``test_*.py``) and ``conftest.py`` files import helpers from here only; nothing
imports a test module or a conftest (``tests/test_layering.py`` checks it). One ``require_tool``
(``tests.support.tools``) decides whether a missing peer skips (locally) or fails (CI=true).
"""

from __future__ import annotations


