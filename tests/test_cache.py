"""The compile cache: keyed by the package's sources, old versions pruned."""

import os
import time

from dynaplan import _cache


def test_cache_directory_is_named_by_the_source_hash():
    assert _cache.cache_root().name == _cache.SOURCE_HASH
    assert len(_cache.SOURCE_HASH) == 16


def test_prune_keeps_the_most_recently_used_versions(tmp_path):
    base = tmp_path / "numba"
    for i in range(8):
        d = base / f"v{i}"
        d.mkdir(parents=True)
        (d / "kernel.nbi").write_bytes(b"x")
        stamp = time.time() - 1000 + i
        os.utime(d, (stamp, stamp))
    current = base / "v0"  # the oldest, but it is the one in use now
    removed = _cache.prune(current, keep=3)
    left = sorted(p.name for p in base.iterdir())
    assert left == ["v0", "v6", "v7"]
    assert sorted(p.name for p in removed) == ["v1", "v2", "v3", "v4", "v5"]
