"""The contract's lifecycle: the breaking-change gate, releases, and the versioned artifacts.

    python -m tools.contract breaking            # make breaking
    python -m tools.contract release 1.1.0       # make release-contract VERSION=1.1.0
    python -m tools.contract dist                # make dist
    python -m tools.contract versions [--check]  # the released version and every manifest that carries it

Standard library only (plus the pinned buf, git, and the language toolchains for `dist`), so the gate
runs the same on a fresh clone, in CI and on a laptop.

| module        | job                                                                     |
|---------------|-------------------------------------------------------------------------|
| `lock.py`     | `contracts/releases.toml`: the released versions and their buf images   |
| `history.py`  | every committed state of `proto/` in git, shallow clones refused/fixed  |
| `breaking.py` | the gate: `buf breaking` against every release and every committed state |
| `versions.py` | the version every package manifest carries, stamped from the lock       |
| `release.py`  | record a release: image, lock entry, versions, commit, tags, artifacts  |
| `dist.py`     | build the installable artifacts of the released contract into `dist/`   |
"""
