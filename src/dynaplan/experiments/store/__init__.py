"""The result store: one directory per experiment, written so that nothing is ever lost or misread.

Layout of ``DIR``::

    spec.toml         the spec as run (after command-line overrides)
    manifest.json     experiment: name, kind, spec hash, status, package versions, times; one
                      entry per batch of runs: cell, seeds, config hash, status, duration, file,
                      sha256 of the file, rows; ``outputs``: the tables and figures written
    runs/HASH-SHA.parquet  the rows of one batch (one cell x a few seeds), named by its config
                      hash and the sha256 of its bytes (so a file verifies without the manifest)
    results.parquet   the combined tidy table (also results.csv), in plan order
    .lock             held (flock) by the process running the experiment; holds its pid and host

Every file is written to a temporary file beside its target and renamed over it, so a reader
sees the old file or the new one, never half of one. The store removes only files it wrote (its
run and temporary files by their names, its outputs as the manifest lists them): a directory
with other files and no store is refused, and replacing an experiment keeps the old one whole
until the new one has finished. Files are created with the user's umask. The store holds only
TOML, JSON, Parquet and CSV: reading results never executes code (no pickle).

One module per job: ``files`` (atomic writes, Parquet bytes, ``StoreError``), ``lock``,
``manifest`` (what a store holds and wrote), ``batches`` (``Store``: saving and verifying
batches), ``reuse`` (what running in a directory does to what is there).
"""

from dynaplan.experiments.store.batches import Store
from dynaplan.experiments.store.files import (
    StoreError,
    atomic_write_bytes,
    from_parquet_bytes,
    sha256,
    to_parquet_bytes,
    write_table,
)
from dynaplan.experiments.store.lock import LOCK, release_inherited_locks
from dynaplan.experiments.store.manifest import (
    FORMAT,
    MANIFEST,
    MANIFEST_NEXT,
    RUNS_DIR,
    SPEC_FILE,
    SPEC_NEXT,
    finished_batches,
    finished_runs,
    read_manifest,
    record_output,
)
from dynaplan.experiments.store.reuse import (
    NotAStore,
    NothingToResume,
    NotTheStoredExperiment,
    OtherExperiment,
    check_resume,
    clear_outputs,
    is_store,
    read_results,
    reuse_decision,
    stored_experiment,
)

__all__ = ["FORMAT", "LOCK", "MANIFEST", "MANIFEST_NEXT", "RUNS_DIR", "SPEC_FILE", "SPEC_NEXT", "NotAStore",
           "NotTheStoredExperiment", "NothingToResume", "OtherExperiment", "Store", "StoreError", "atomic_write_bytes",
           "check_resume", "clear_outputs", "finished_batches", "finished_runs", "from_parquet_bytes", "is_store",
           "read_manifest", "read_results", "record_output", "release_inherited_locks", "reuse_decision", "sha256",
           "stored_experiment", "to_parquet_bytes", "write_table"]
