"""Where the tests find public reference data that is not shipped in the repository."""

from __future__ import annotations

import os
from pathlib import Path


def synthea_path() -> Path | None:
    """OHDSI's Synthea27Nj v5.4 CSV zip: $OFFLABEL_SYNTHEA_ZIP, else the project's shared/data beside the repo."""
    candidates = [os.environ.get("OFFLABEL_SYNTHEA_ZIP"),
                  Path(__file__).resolve().parents[3] / "shared" / "data" / "Synthea27Nj_5.4.zip",
                  "/work/shared/data/Synthea27Nj_5.4.zip"]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)
