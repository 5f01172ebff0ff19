-- Intake schema for PostgreSQL, version 3: the substring-filter index leaves the load's path.
-- Measured (docs/schema.md, README "Benchmarks"): the three pg_trgm GIN indexes on patients and
-- persons were about a quarter of every batch's time. Their entries now live in patient_search,
-- which a background syncer (PgSearchSync) fills from persons after each batch commits, in its own
-- transaction, on another connection (so on another core). Reads stay exact while it lags:
--   persons.version          the data_version of the batch that last wrote the row (0: before v3)
--   counters.search_version  every person with version <= it is in patient_search as it is now
-- A filtered read takes patient_search for persons with version <= search_version and checks the
-- newer ones (an index range on persons.version) against their own folded columns.
ALTER TABLE persons ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX persons_version ON persons (version);

-- One row per patient (no foreign key: only the syncer writes it, from existing rows).
CREATE TABLE patient_search (
  id                 BIGINT PRIMARY KEY,
  mrn_folded         TEXT NOT NULL,
  first_name_folded  TEXT NOT NULL,
  last_name_folded   TEXT NOT NULL
);

INSERT INTO patient_search (id, mrn_folded, first_name_folded, last_name_folded)
SELECT p.id, p.mrn_folded, pe.first_name_folded, pe.last_name_folded
FROM patients p JOIN persons pe ON pe.id = p.id;

DROP INDEX patients_mrn_folded_trgm;
DROP INDEX persons_first_name_folded_trgm;
DROP INDEX persons_last_name_folded_trgm;

CREATE INDEX patient_search_mrn_trgm
  ON patient_search USING gin (mrn_folded public.gin_trgm_ops);
CREATE INDEX patient_search_first_name_trgm
  ON patient_search USING gin (first_name_folded public.gin_trgm_ops);
CREATE INDEX patient_search_last_name_trgm
  ON patient_search USING gin (last_name_folded public.gin_trgm_ops);

-- Every existing person (version 0) was copied above.
INSERT INTO counters (name, value) VALUES ('search_version', 0);
