"""Process-wide settings for a process that exists only to run build work: a pool or
Ray worker, and the CLI's `facedata build`.

A library must not change its callers' interpreter, so these are opt-in and only the
build's own processes call `for_build_work`:

- pyarrow's pandas probe is skipped (see `corpus.row.arrow_without_pandas`);
- the cyclic garbage collector runs less often. A build allocates a few dicts per
  row and keeps a dedup index that grows with the corpus; at the default threshold
  (700 allocations) the collector runs every few rows and its full passes walk that
  index again and again. Rows hold no reference cycles, so reference counting frees
  them either way; on bench/build.py a 2-worker build takes 4% less time;
- the last collection, at interpreter exit, is skipped (`gc.freeze` from `atexit`):
  it would only walk objects that die with the process anyway, and costs the CLI
  30-50 ms after its work is done. (Pool workers end without interpreter shutdown.)
"""

from __future__ import annotations

import atexit
import gc

from facedata.corpus.row import arrow_without_pandas

GC_THRESHOLD = (50_000, 20, 100)


def for_build_work() -> None:
    arrow_without_pandas()
    if gc.get_threshold()[0] < GC_THRESHOLD[0]:
        gc.set_threshold(*GC_THRESHOLD)
    atexit.unregister(gc.freeze)  # once per process, however often this is called
    atexit.register(gc.freeze)
