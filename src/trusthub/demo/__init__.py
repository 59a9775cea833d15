"""The synthetic UK demo world every part of TrustHub is tested and benchmarked on.

``trusthub demo seed`` (or ``service.seed_database`` / ``service.write_parquet_world``) builds,
from a citizens count and a seed alone, the same world every time:

- citizens (``people``): valid, unique NHS numbers and NINOs, names from rank-skewed UK lists,
  birth dates from a UK-like age pyramid, addresses with valid postcodes in real postcode areas,
  moves, changes of surname and national data opt-outs (~5%);
- eight organisations (``organisations``) holding nine datasets whose fields are classified;
- each holder's copy of the citizens it serves (``holders``), damaged at stated rates the way
  real copies are (``errors``): typos, short names, stale addresses, old surnames, gaps.

Ground truth: every copy's record keeps ``citizen_id``, the citizen it really is. That column is
the demo world's answer key for measuring record matching; no API may expose it.

Generation (``people``, ``holders``, ``world``, ``tables``) is pure numpy and Arrow with no I/O;
loading (``load_sqlite``, ``load_postgres``, ``parquet``) and the action layer (``service``)
do the I/O; ``cli`` is thin over ``service``.
"""
