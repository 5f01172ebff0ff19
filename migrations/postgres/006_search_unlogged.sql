-- Intake schema for PostgreSQL, version 6: the search index is kept out of the write-ahead log.
-- patient_search holds nothing of its own: the syncer (PgSearchSync) copies it from persons and
-- patients. Writing its three GIN indexes to the WAL was about a quarter of the syncer's statement
-- time on the bench's 1M load (docs/schema.md, "Indexes for the patient filters"), so the table
-- becomes UNLOGGED, and its watermark moves out of counters into an UNLOGGED table beside it:
--   search_state.search_version  every person with version <= it is in patient_search as it is now
-- After a crash (or on a promoted standby, or a restored base backup) PostgreSQL empties every
-- unlogged table, these two together: no watermark then means nothing is indexed (-1, so persons of
-- version 0 count too), reads check every person by its own columns, and the next round copies
-- them all again.
CREATE UNLOGGED TABLE search_state (
  id              INT PRIMARY KEY CHECK (id = 1),
  search_version  BIGINT NOT NULL
);

INSERT INTO search_state (id, search_version)
SELECT 1, value FROM counters WHERE name = 'search_version';
DELETE FROM counters WHERE name = 'search_version';

ALTER TABLE patient_search SET UNLOGGED;
