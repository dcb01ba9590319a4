"""Writing run outputs atomically: a file appears whole or not at all."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pinnkan.errors import UserError


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call write(tmp) on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text))


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def write_csv(path: str | Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({c: row.get(c, "") for c in columns})
    write_text(path, buf.getvalue())


class RunDir:
    """An output folder built under a hidden staging name and renamed when complete.

    ``path`` (``.NAME.partial`` beside ``final``) is where files go while the run is
    under way, its checkpoints included; ``commit()`` moves it to ``final``
    (replacing an earlier run there) and ``discard()`` removes it. So no
    half-written run folder is ever left at ``final``, and a run killed at any
    moment leaves its checkpoint in the staging folder for ``--resume``.
    With ``resume`` an existing staging folder is kept; otherwise it is an
    abandoned run and starts over.
    """

    def __init__(self, final: str | Path, resume: bool = False) -> None:
        self.final = Path(final)
        if self.final.exists() and not self.final.is_dir():
            raise UserError(f"--out {str(self.final)!r} exists and is not a folder")
        self.path = self.staging(self.final)
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and not resume:
                shutil.rmtree(self.path)
            self.path.mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {str(self.final)!r} cannot be written: {exc.strerror}") from None

    @staticmethod
    def staging(final: str | Path) -> Path:
        """Where the run that ends up at ``final`` lives until it is complete."""
        final = Path(final)
        return final.with_name(f".{final.name}.partial")

    def commit(self) -> Path:
        if self.final.exists():
            old = self.final.with_name(f".{self.final.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.final, old)
            os.replace(self.path, self.final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.path, self.final)
        return self.final

    def discard(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
