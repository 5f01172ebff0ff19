-- Intake schema, version 1. See docs/schema.md.
-- The seed's tables (patients, persons, visits) keep their names and columns; Intake's additions
-- are extra columns with defaults and extra tables. Applied inside one transaction by the runner.

CREATE TABLE patients (
  id          INTEGER PRIMARY KEY,
  mrn         TEXT NOT NULL UNIQUE,
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  mrn_folded  TEXT NOT NULL DEFAULT ''
);

CREATE TABLE persons (
  id                 INTEGER PRIMARY KEY REFERENCES patients (id),
  first_name         TEXT NOT NULL,
  last_name          TEXT NOT NULL,
  birth_date         TEXT NOT NULL,
  first_name_folded  TEXT NOT NULL DEFAULT '',
  last_name_folded   TEXT NOT NULL DEFAULT '',
  src_seq            INTEGER NOT NULL DEFAULT 0,
  src_row            INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE visits (
  id                    INTEGER PRIMARY KEY,
  visit_account_number  TEXT NOT NULL UNIQUE,
  patient_id            INTEGER NOT NULL REFERENCES patients (id),
  visit_date            TEXT NOT NULL,
  reason                TEXT NOT NULL DEFAULT '',
  src_seq               INTEGER NOT NULL DEFAULT 0,
  src_row               INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX visits_patient_date ON visits (patient_id, visit_date, id);

CREATE TABLE tasks (
  task_id             TEXT PRIMARY KEY,
  seq                 INTEGER NOT NULL UNIQUE,
  csv_filename        TEXT NOT NULL,
  records_received    INTEGER NOT NULL DEFAULT 0,
  state               TEXT NOT NULL DEFAULT 'PENDING'
                      CHECK (state IN ('PENDING', 'STARTED', 'PROGRESS', 'SUCCESS', 'FAILURE')),
  total_records       INTEGER NOT NULL DEFAULT 0,
  processed_records   INTEGER NOT NULL DEFAULT 0,
  patients_created    INTEGER NOT NULL DEFAULT 0,
  patients_updated    INTEGER NOT NULL DEFAULT 0,
  patients_unchanged  INTEGER NOT NULL DEFAULT 0,
  visits_created      INTEGER NOT NULL DEFAULT 0,
  visits_updated      INTEGER NOT NULL DEFAULT 0,
  visits_unchanged    INTEGER NOT NULL DEFAULT 0,
  error_count         INTEGER NOT NULL DEFAULT 0,
  rows_done           INTEGER NOT NULL DEFAULT 0,
  failure_reason      TEXT,
  created_at          INTEGER NOT NULL,  -- microseconds since 1970-01-01T00:00:00Z
  started_at          INTEGER,
  finished_at         INTEGER,
  lease_owner         TEXT,
  lease_token         TEXT,
  lease_expires_at    INTEGER            -- microseconds since the epoch
);

-- The queue: unfinished tasks in acceptance order.
CREATE INDEX tasks_unfinished ON tasks (seq)
  WHERE state IN ('PENDING', 'STARTED', 'PROGRESS');

CREATE TABLE task_errors (
  id       INTEGER PRIMARY KEY,
  task_id  TEXT NOT NULL REFERENCES tasks (task_id),
  row      INTEGER NOT NULL,
  field    TEXT,
  message  TEXT NOT NULL
);

CREATE INDEX task_errors_task_row ON task_errors (task_id, row, id);

CREATE TABLE idempotency_keys (
  key            TEXT PRIMARY KEY,
  body_sha256    TEXT,
  response_body  TEXT,
  state          TEXT NOT NULL CHECK (state IN ('in_progress', 'done')),
  created_at     INTEGER NOT NULL   -- microseconds since the epoch
);

CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
