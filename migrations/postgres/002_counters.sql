-- Intake schema for PostgreSQL, version 2: counters kept by the load, so that reads need not count.
--   patients      rows in patients (there are no deletes)
--   data_version  bumped by every batch that created a patient or changed a person: a cached
--                 count of filtered patients is valid while it is unchanged
CREATE TABLE counters (
  name   TEXT PRIMARY KEY,
  value  BIGINT NOT NULL
);

INSERT INTO counters (name, value) SELECT 'patients', COUNT(*) FROM patients;
INSERT INTO counters (name, value) VALUES ('data_version', 0);
