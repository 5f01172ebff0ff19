-- Intake schema for PostgreSQL, version 4: a version of the stored records.
--   records_version  bumped by every batch that writes a patient, person or visit row (positions
--                    included), in the batch's transaction
-- A batch loads the stored rows it names before it takes the apply lock when the last batch of
-- its process wrote nothing (a replay, mostly), so loads of two appliers run side by side; after
-- taking the lock it reads records_version again and loads anew when it moved. Every writer of
-- patients, persons or visits must bump it (Intake's ApplyBatch is the only one): docs/schema.md.
INSERT INTO counters (name, value) VALUES ('records_version', 0);
