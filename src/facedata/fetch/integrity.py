"""What a file must be, and whether the bytes obtained are it.

Three sources of truth, in order of authority: a hash the manifest marks verified
(reviewed by a person), the pin in the lock file (what this cache obtained before),
and a hash the manifest lists as unverified (a third-party claim: a mismatch only
warns and the observed value is recorded, so the first real download settles it).
"""

from __future__ import annotations

from dataclasses import dataclass

from facedata.errors import IntegrityError
from facedata.fetch.store import LockEntry, lock_path
from facedata.manifest.schema import FileSpec


@dataclass(frozen=True)
class Expected:
    sha256: str | None = None
    size: int | None = None
    md5: str | None = None
    strict: bool = True
    why: str = ""  # where the expectation comes from, for messages

    @property
    def known(self) -> bool:
        return self.sha256 is not None


def expected_for(spec: FileSpec | None, pin: LockEntry | None) -> list[Expected]:
    """The checks a file must pass (strict ones raise, soft ones warn)."""
    out: list[Expected] = []
    if spec is not None and spec.verified and (spec.sha256 or spec.size or spec.md5):
        out.append(Expected(spec.sha256, spec.size, spec.md5, True, "the manifest"))
        return out  # a reviewed manifest hash supersedes an older pin
    if pin is not None:
        out.append(Expected(pin.sha256, pin.size, None, True, f"the pin in {lock_path()}"))
    if spec is not None and not spec.verified and (spec.sha256 or spec.size or spec.md5):
        out.append(Expected(spec.sha256, spec.size, spec.md5, False, "the manifest (unverified)"))
    return out


def strict_sha(checks: list[Expected]) -> str | None:
    """The hash a cached blob must have to be reused without downloading."""
    return next((e.sha256 for e in checks if e.strict and e.sha256), None)


def check(
    name: str,
    sha256: str,
    size: int,
    md5: str | None,
    checks: list[Expected],
    notes: list[str],
) -> None:
    """Raise IntegrityError on a strict mismatch; append a note for a soft one."""
    for exp in checks:
        problems = []
        if exp.size is not None and size != exp.size:
            problems.append(f"size is {size:,} bytes, expected {exp.size:,}")
        if exp.sha256 is not None and sha256 != exp.sha256:
            problems.append(f"sha256 is {sha256}, expected {exp.sha256}")
        if exp.md5 is not None and md5 is not None and md5 != exp.md5:
            problems.append(f"md5 is {md5}, expected {exp.md5}")
        if not problems:
            continue
        detail = "; ".join(problems)
        if exp.strict:
            raise IntegrityError(
                f"{name}: {detail} (from {exp.why}); the file was discarded",
                hint="run the same command again to download it afresh. If it fails again the "
                "publisher changed the file: check it, then correct the manifest or remove the "
                f"pin from {lock_path()}",
            )
        notes.append(
            f"{name}: {detail} (from {exp.why}); keeping the file and recording what was observed"
        )
