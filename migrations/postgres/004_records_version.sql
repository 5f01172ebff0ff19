-- Intake schema for PostgreSQL, version 4: a version of the stored records.
--   records_version  bumped by every statement that writes patients, persons or visits, in the
--                    writer's transaction (statement triggers: so by every writer, whether Intake
--                    of any version or other SQL)
-- After a batch that wrote nothing (a replay, mostly) the next batch of that process loads the
-- stored rows it names before it takes the apply lock, so the loads of two appliers run side by
-- side; holding the lock it reads records_version again and loads anew when it moved
-- (docs/schema.md, "Loading before the lock").
INSERT INTO counters (name, value) VALUES ('records_version', 0);

-- The counters of the written table's own schema, whatever the writer's search_path.
CREATE FUNCTION intake_bump_records_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I.counters SET value = value + 1 WHERE name = %L', TG_TABLE_SCHEMA,
                 'records_version');
  RETURN NULL;
END
$$;

CREATE TRIGGER patients_records_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON patients
  FOR EACH STATEMENT EXECUTE FUNCTION intake_bump_records_version();
CREATE TRIGGER persons_records_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON persons
  FOR EACH STATEMENT EXECUTE FUNCTION intake_bump_records_version();
CREATE TRIGGER visits_records_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON visits
  FOR EACH STATEMENT EXECUTE FUNCTION intake_bump_records_version();
