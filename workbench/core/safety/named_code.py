"""A file that names code (a recipe, a session): it opens only when the user trusts the code it names.

The code is the model source and every sibling module it reaches (source_closure). It is trusted either by
itself (the loader records it for a source the user typed) or as "this file naming this code" when the user
trusts the file, so a change to the file, the source or any sibling asks again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from workbench.core.errors import ModelSourceError, UntrustedFileError
from workbench.core.safety import trust
from workbench.core.safety.source_closure import closure_of


def naming_sha256(file_sha256: str, code_sha256: str) -> str:
    """What is trusted when the user trusts a file that names code: that file naming that exact code."""
    return hashlib.sha256(f"workbench file naming code 1\0{file_sha256}\0{code_sha256}".encode()).hexdigest()


def check_named_source(source: str, path: Path, digest: str, trusted: bool, what: str) -> None:
    """Refuse a model source named by a file (a recipe, a session) unless the user trusts this file naming that
    code, or has trusted the code itself, as the loader records it for a source the user typed. The code is the
    source and every sibling module it reaches (source_closure); a change to any of them asks again."""
    code = Path(source.rpartition(":")[0])
    closure = closure_of(source) if code.is_file() else None  # a missing source runs nothing: opening says so
    if closure is not None:
        named = naming_sha256(digest, closure.sha256)
        if trusted:
            trust.trust(named)
        if trusted or trust.is_trusted(closure.sha256) or trust.is_trusted(named):
            return
    elif trusted:
        return
    files = [str(f) for f in closure.files] if closure else [str(code)]
    raise UntrustedFileError(
        f"{path.name} names the model source {source}, so opening it would run the code in "
        f"{closure.describe() if closure else code}; this {what} was not opened.",
        "If you know where the files come from, trust them (command line: add --trust, or name the model source "
        "yourself with --model-source; in the window: answer the trust prompt). Trust applies to these exact "
        "files only.", path, files, [], files=files)


def trust_own_file(data: bytes, source: str) -> None:
    """A recipe or session the workbench writes names code the user chose: trust that file naming that code, as
    it is now (best effort: a source that cannot be read now is asked about when the file is opened)."""
    try:
        closure = closure_of(source)
    except ModelSourceError:
        return
    trust.trust(naming_sha256(hashlib.sha256(data).hexdigest(), closure.sha256))
