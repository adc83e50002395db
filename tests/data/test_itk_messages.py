"""ITK's C++ warnings become log records (in a process of its own: the logger is global)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import logging, sys, tempfile
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append((record.name, record.levelname, record.getMessage()))
logging.getLogger().addHandler(Keep())
logging.getLogger().setLevel(logging.DEBUG)
from medunet.data.itk_messages import route_itk_messages
assert route_itk_messages() and route_itk_messages()  # once, then a no-op
import SimpleITK as sitk
sitk.ImageSeriesReader.GetGDCMSeriesIDs(tempfile.mkdtemp())  # GDCM warns: no series
print([r for r in records if r[0] == "itk"])
"""


def test_gdcm_warning_is_a_record_not_stderr():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert "No Series were found" in done.stdout and "'INFO'" in done.stdout, done.stdout
    assert "GDCM" not in done.stderr, done.stderr
