"""offlabel: real-world evidence on off-label drug use from OMOP CDM data."""

from importlib.metadata import PackageNotFoundError, version

from offlabel.cdm import Cdm, connect

try:
    __version__ = version("offlabel")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

__all__ = ["Cdm", "connect", "__version__"]
