-- Intake schema for PostgreSQL, version 5: the references of persons and visits to patients,
-- checked once per statement instead of once per row.
-- A FOREIGN KEY checks every row it is given with a query of its own, and with the row lock that
-- goes with it: about 13 µs a row on the bench machine, 40 % of the time of a load's statements
-- (docs/schema.md, "References"). The same rules, by triggers:
--   persons.id and visits.patient_id name a patient:
--     INSERT  a statement trigger over the inserted rows (a transition table), one probe of the
--             patients' primary key per row inside one query
--     UPDATE  a row trigger, only for the rows whose reference changed (WHEN), which locks the
--             patient FOR KEY SHARE as the constraint did; other updates cost nothing
--   a patient that a person or a visit names stays, with its id:
--     DELETE, UPDATE  a statement trigger over the old rows whose id is gone from patients
--     TRUNCATE        fails while a person or a visit is left: truncate the three tables together
-- A broken rule raises SQLSTATE 23503 (foreign_key_violation), as the constraints did, and the
-- statement fails whole. The messages name tables, never values.
--
-- Concurrency rests on migration 004: every statement that writes patients, persons or visits
-- updates the counters row 'records_version' (intake_bump_records_version) and so holds its row
-- lock until it commits. The statement triggers here are named to fire after that one (triggers of
-- one event fire in name order: "records_version" < "reference_..."), so each check runs holding
-- that lock: every other writer of the three tables has committed or waits for this one. Under
-- READ COMMITTED each query of a check takes a new snapshot, so it sees what those writers
-- committed; under REPEATABLE READ or SERIALIZABLE a writer whose snapshot predates another
-- writer's commit fails at the counters update (SQLSTATE 40001) before its check runs. The bump
-- (replaced below) fails (SQLSTATE 55000) when that counters row is missing, rather than going on
-- unserialized.
--
-- Every table is named in the schema of the table written (TG_TABLE_SCHEMA), and the functions
-- run with search_path = pg_catalog, pg_temp, so no operator or function of the writer's
-- search_path takes part. What a constraint would stop and these triggers do not: DDL by the
-- tables' owner (disabling user triggers, rewriting a column with USING) and a restore, which
-- creates the triggers after the rows and checks none of them. The checks run with the writer's
-- rights (a constraint used the owner's): a writer needs SELECT on the three tables and UPDATE on
-- patients (the FOR KEY SHARE of a reference update), as well as UPDATE on counters (004).
ALTER TABLE persons DROP CONSTRAINT persons_id_fkey;
ALTER TABLE visits DROP CONSTRAINT visits_patient_id_fkey;

-- Migration 004's bump, now also refusing to go on when the counters row is missing (renamed,
-- deleted, or deleted and inserted anew while this writer waited for it): then the UPDATE would
-- take no lock and the checks below would not be serialized.
CREATE OR REPLACE FUNCTION intake_bump_records_version() RETURNS trigger LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  bumped BIGINT;
BEGIN
  EXECUTE format('UPDATE %I.counters SET value = value + 1 WHERE name = %L', TG_TABLE_SCHEMA,
                 'records_version');
  GET DIAGNOSTICS bumped = ROW_COUNT;
  IF bumped <> 1 THEN
    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
      MESSAGE = format('counters row "records_version" of schema "%s" is missing: writes to'
                       ' patients, persons and visits need it', TG_TABLE_SCHEMA);
  END IF;
  RETURN NULL;
END
$$;

-- After INSERT on persons (TG_ARGV[0] = 'id') or visits ('patient_id'). The probe is a scalar
-- subquery per row, never a join the planner could turn into a scan of all of patients.
CREATE FUNCTION intake_check_inserted_reference() RETURNS trigger LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  orphan BOOLEAN;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM intake_new n'
                 ' WHERE (SELECT p.id FROM %1$I.patients p WHERE p.id = n.%2$I) IS NULL)',
                 TG_TABLE_SCHEMA, TG_ARGV[0])
    INTO orphan;
  IF orphan THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('insert on table "%s" violates its reference to "patients"', TG_TABLE_NAME),
      DETAIL = format('Some %s.%s names no patient.', TG_TABLE_NAME, TG_ARGV[0]);
  END IF;
  RETURN NULL;
END
$$;

-- After an UPDATE that changed persons.id or visits.patient_id (TG_ARGV[0]), for that row.
CREATE FUNCTION intake_check_updated_reference() RETURNS trigger LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  found BOOLEAN;
BEGIN
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.patients p WHERE p.id = ($1).%I'
                 ' FOR KEY SHARE OF p)', TG_TABLE_SCHEMA, TG_ARGV[0])
    INTO found USING NEW;
  IF NOT found THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('update on table "%s" violates its reference to "patients"', TG_TABLE_NAME),
      DETAIL = format('Some %s.%s names no patient.', TG_TABLE_NAME, TG_ARGV[0]);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER persons_reference_insert AFTER INSERT ON persons
  REFERENCING NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_inserted_reference('id');
CREATE TRIGGER visits_reference_insert AFTER INSERT ON visits
  REFERENCING NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_inserted_reference('patient_id');
CREATE TRIGGER persons_reference_update AFTER UPDATE OF id ON persons
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
  EXECUTE FUNCTION intake_check_updated_reference('id');
CREATE TRIGGER visits_reference_update AFTER UPDATE OF patient_id ON visits
  FOR EACH ROW WHEN (OLD.patient_id IS DISTINCT FROM NEW.patient_id)
  EXECUTE FUNCTION intake_check_updated_reference('patient_id');

-- After DELETE, UPDATE or TRUNCATE of patients: no person or visit may name a patient id that is
-- gone: an old row's id that is not in patients now (one primary-key probe per old row, then, for
-- the ids gone, one probe each of persons and visits; the app never updates or deletes patients).
CREATE FUNCTION intake_check_patients_named() RETURNS trigger LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  orphan BOOLEAN;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I.persons)'
                   ' OR EXISTS (SELECT 1 FROM %1$I.visits)', TG_TABLE_SCHEMA)
      INTO orphan;
  ELSE
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM intake_old o'
                   ' WHERE (SELECT p.id FROM %1$I.patients p WHERE p.id = o.id) IS NULL'
                   ' AND ((SELECT pe.id FROM %1$I.persons pe WHERE pe.id = o.id) IS NOT NULL'
                   ' OR (SELECT v.patient_id FROM %1$I.visits v WHERE v.patient_id = o.id'
                   ' LIMIT 1) IS NOT NULL))', TG_TABLE_SCHEMA)
      INTO orphan;
  END IF;
  IF orphan THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('%s on table "patients" would leave persons or visits naming no patient',
                       TG_OP);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER patients_reference_delete AFTER DELETE ON patients
  REFERENCING OLD TABLE AS intake_old
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
CREATE TRIGGER patients_reference_update AFTER UPDATE ON patients
  REFERENCING OLD TABLE AS intake_old
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
CREATE TRIGGER patients_reference_truncate AFTER TRUNCATE ON patients
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
