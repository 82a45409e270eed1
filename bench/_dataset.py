"""The benchmark's data: CRM-like contacts generated in SQL, the edit of the incremental phase,
and the checksums that prove two tables hold the same rows.

Every value derives from a hash of the row's id (``hashint8extended``), so a run at the same
size always generates the same rows, and generation is one set-based INSERT.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

__all__ = ["DESTINATION", "REFERENCE", "SOURCE", "TABLE", "Dataset", "Postgres", "Sum"]

SOURCE, DESTINATION, REFERENCE = "bench_src", "bench_dst", "bench_ref"
TABLE = "contacts"

_DEFINITION = """
    id bigint PRIMARY KEY,
    email text NOT NULL,
    first_name text NOT NULL,
    last_name text NOT NULL,
    company text,
    phone text,
    stage text NOT NULL,
    score integer NOT NULL,
    tags text[] NOT NULL,
    properties jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
"""

_STAGES = (
    "'subscriber','lead','marketing_qualified_lead','sales_qualified_lead',"
    "'opportunity','customer','evangelist','other'"
)

# One row per id; `h` is a 63-bit hash of the id and each field takes its own slice of it.
_GENERATE = f"""
INSERT INTO {SOURCE}.{TABLE}
SELECT g,
  lower(fn) || '.' || lower(ln) || '.' || g || '@' || lower(replace(co, ' ', '')) || '.example.com',
  fn, ln, co,
  '+1-' || lpad((h % 1000)::text, 3, '0') || '-555-' || lpad(((h / 1000) % 10000)::text, 4, '0'),
  (ARRAY[{_STAGES}])[1 + (h / 7) % 8],
  ((h / 11) % 100)::int,
  (ARRAY['newsletter','webinar','trial','enterprise','partner','churn-risk','vip',
         'event-2024','inbound','outbound'])[1 + (h / 13) % 10 : 1 + (h / 13) % 10 + (h / 17) % 3],
  jsonb_build_object(
    'lead_source', (ARRAY['organic_search','paid_social','referral','direct',
                          'email_campaign','event'])[1 + (h / 19) % 6],
    'industry', (ARRAY['Software','Manufacturing','Healthcare','Retail','Financial Services',
                       'Education','Logistics'])[1 + (h / 23) % 7],
    'employees', (h / 29) % 5000,
    'annual_revenue', round(((h / 31) % 100000000) / 100.0, 2),
    'country', (ARRAY['US','GB','DE','FR','NL','CA','AU','BR','IN','JP'])[1 + (h / 37) % 10],
    'owner_id', 1000 + (h / 41) % 250,
    'email_opt_in', (h / 43) % 2 = 0,
    'website', 'https://' || lower(replace(co, ' ', '-')) || '-' || (h / 47) % 1000
               || '.example.com'
  ),
  created,
  created + ((h / 53) % (86400 * 300)) * interval '1 second'
FROM (
  SELECT g, h,
    (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Margaret','Ken','Radia','Frances',
           'Linus','Guido','Anita','Dennis','Hedy','John'])[1 + h % 16] AS fn,
    (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Hamilton','Thompson',
           'Perlman','Allen','Torvalds','van Rossum','Borg','Ritchie','Lamarr',
           'McCarthy'])[1 + (h / 16) % 16] AS ln,
    (ARRAY['Acme Corporation','Globex Industries','Initech Software','Umbrella Logistics',
           'Hooli Cloud Services','Stark Manufacturing','Wayne Enterprises','Tyrell Systems',
           'Cyberdyne Analytics','Soylent Foods'])[1 + (h / 256) % 10] AS co,
    timestamptz '2021-01-01 00:00:00+00' + ((h / 3) % (86400 * 365 * 3)) * interval '1 second'
      AS created
  FROM (SELECT g, abs(hashint8extended(g, 42)) AS h FROM generate_series(1, __ROWS__) AS g) AS s
) AS r
"""

# The edited rows get new stage and score, and updated_at a microsecond apart from now().
_EDIT = f"""
SELECT setseed(0.25);
WITH picked AS (
  SELECT id, row_number() OVER () AS n
  FROM (SELECT id FROM {SOURCE}.{TABLE} ORDER BY random() LIMIT __ROWS__) AS r
)
UPDATE {SOURCE}.{TABLE} AS t
SET stage = (ARRAY[{_STAGES}])[1 + (t.id + 3) % 8],
    score = (t.score + 17) % 100,
    updated_at = now() + p.n * interval '1 microsecond'
FROM picked AS p
WHERE t.id = p.id;
VACUUM ANALYZE {SOURCE}.{TABLE};
"""


@dataclass(frozen=True, slots=True)
class Postgres:
    """psql on the benchmark's database: no driver of our own between the bench and the server."""

    dsn: str

    def psql(self, *args: str) -> list[str]:
        """The argv of a quiet psql that stops at the first error."""
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.dsn, *args]

    def run(self, sql: str) -> str:
        """Run SQL statements one by one (VACUUM allowed); return the unaligned output."""
        done = subprocess.run(
            self.psql("-A", "-t", "-f", "-"), input=sql, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout.strip()


@dataclass(frozen=True, slots=True)
class Sum:
    """How many rows a query returns and the sum of a 64-bit hash of each row's full text."""

    rows: int
    hash_sum: str


class Dataset:
    """The source table and the two target tables of one benchmark run."""

    def __init__(self, postgres: Postgres) -> None:
        self.postgres = postgres

    def generate(self, rows: int) -> tuple[int, int]:
        """Create the three schemas and fill the source; return (avg row bytes, table bytes)."""
        statements = [f"DROP SCHEMA IF EXISTS {s} CASCADE; CREATE SCHEMA {s};" for s in _SCHEMAS]
        # Autovacuum off: a vacuum woken by one phase's million inserts would run during the
        # next phase and take a core from whichever side runs then. The source is vacuumed here.
        statements += [
            f"CREATE TABLE {s}.{TABLE} ({_DEFINITION}) WITH (autovacuum_enabled = false);"
            for s in _SCHEMAS
        ]
        statements += [
            _GENERATE.replace("__ROWS__", str(int(rows))) + ";",
            f"CREATE INDEX {TABLE}_updated_at_id ON {SOURCE}.{TABLE} (updated_at, id);",
            f"VACUUM ANALYZE {SOURCE}.{TABLE};",
            f"SELECT avg(pg_column_size(t.*))::int, pg_total_relation_size('{SOURCE}.{TABLE}') "
            f"FROM {SOURCE}.{TABLE} AS t;",
        ]
        avg, size = self.postgres.run(
            "SET client_min_messages = warning;\n" + "\n".join(statements)
        ).split("|")
        return int(avg), int(size)

    def truncate(self, schema: str) -> None:
        """Empty a target table (and syncwell's tombstones beside it, when they exist)."""
        self.postgres.run(
            f"TRUNCATE {schema}.{TABLE};\nDROP TABLE IF EXISTS {schema}._syncwell_deleted_{TABLE};"
        )

    def high_water(self) -> str:
        """The source's newest updated_at, as text PostgreSQL parses back exactly."""
        return self.postgres.run(f"SELECT max(updated_at)::text FROM {SOURCE}.{TABLE};")

    def edit(self, rows: int) -> None:
        """Change stage, score and updated_at of `rows` random source rows."""
        self.postgres.run(_EDIT.replace("__ROWS__", str(int(rows))))

    def changed_since(self, mark: str) -> str:
        """The query of the source rows changed after `mark`."""
        return f"SELECT * FROM {SOURCE}.{TABLE} WHERE updated_at > '{mark}'"

    def checksum(self, query: str) -> Sum:
        """Count and hash-sum the rows of `query`: equal sums mean equal rows, all columns."""
        rows, hash_sum = self.postgres.run(
            "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) "
            f"FROM ({query}) AS t;"
        ).split("|")
        return Sum(int(rows), hash_sum)

    def table(self, schema: str) -> str:
        """The query of a whole table."""
        return f"SELECT * FROM {schema}.{TABLE}"


_SCHEMAS = (SOURCE, DESTINATION, REFERENCE)
