"""`offlabel demo`: the flagship study on the demo synthetic world, built once into a cache."""

from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

from rich.console import Console

from offlabel.run import run_study

FLAGSHIP_STUDY = "ldn_ms.yaml"


def cache_dir() -> Path:
    """$OFFLABEL_CACHE, else $XDG_CACHE_HOME/offlabel, else ~/.cache/offlabel."""
    if os.environ.get("OFFLABEL_CACHE"):
        return Path(os.environ["OFFLABEL_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "offlabel"


def flagship_study() -> Path:
    return Path(str(resources.files("offlabel") / "studies" / FLAGSHIP_STUDY))


def demo_world(console: Console) -> Path:
    """The demo world's CDM file; built when absent, keyed by the world config and offlabel's simulator."""
    from offlabel import synth

    config = Path(synth.DEMO_WORLD)
    key = _simulator_fingerprint()
    folder = cache_dir() / f"demo-world-{key}"
    path = folder / "cdm.duckdb"
    if path.exists():
        console.print(f"Using the cached demo world {path}", highlight=False)
        return path
    console.print(f"Building the demo world once into {folder} ...", highlight=False)
    # synthesize() builds beside `path` and moves the world in whole: an interrupted build is never reused.
    synth.synthesize(persons=synth.DEMO_PERSONS, seed=synth.DEMO_SEED, out=path, config=config, progress=True)
    return path


def _simulator_fingerprint() -> str:
    """A hash of the simulator's code, data and the demo config: a changed simulator rebuilds the world."""
    root = Path(str(resources.files("offlabel.synth")))
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".csv", ".yaml")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def run_demo(out_dir: Path, world: Path | None = None, console: Console | None = None) -> int:
    console = console or Console(stderr=True)
    cdm = world or demo_world(console)
    code = run_study(flagship_study(), str(cdm), out_dir, console=console)
    console.print(f"Open {Path(out_dir) / 'report.html'} in a browser.", highlight=False)
    return code
