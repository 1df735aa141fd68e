"""A deterministic synthetic US-equity market in the real vendors' formats.

In:  options (number of securities, date range, seed).
Out: the SPEC section 12 layout on disk with every hard case of SPEC section 9, described by
     manifest.json. See `generate_sample`.
"""

from __future__ import annotations

from stocksdb.sample.generate import generate_sample
from stocksdb.sample.manifest import SampleManifest, read_manifest

__all__ = ["SampleManifest", "generate_sample", "read_manifest"]
