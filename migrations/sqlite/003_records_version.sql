-- Intake schema for SQLite, version 3: records_version, moved by one with every batch that writes
-- patients, persons or visits (in its own transaction), so that a batch may load the stored rows
-- it names before it takes the writer, and know by this counter whether they may have changed
-- since (docs/schema.md, "Loading before the writer"). Writes by other programs do not move it;
-- the writer notices them otherwise (PRAGMA data_version).
INSERT INTO counters (name, value) VALUES ('records_version', 0);
