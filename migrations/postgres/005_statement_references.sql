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
-- writer's commit fails at the counters update (SQLSTATE 40001) before its check runs.
--
-- Every table is named in the schema of the table written (TG_TABLE_SCHEMA), and the functions
-- run with search_path = pg_catalog, pg_temp, so no operator or function of the writer's
-- search_path takes part. What a constraint would stop and these triggers do not: DDL by the
-- tables' owner (disabling user triggers, rewriting a column with USING) and a restore, which
-- creates the triggers after the rows and checks none of them.
ALTER TABLE persons DROP CONSTRAINT persons_id_fkey;
ALTER TABLE visits DROP CONSTRAINT visits_patient_id_fkey;
ALTER FUNCTION intake_bump_records_version() SET search_path = pg_catalog, pg_temp;

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
-- gone (an old row's id that is not in patients now; an UPDATE first drops the ids still among its
-- new rows, so one that keeps every id probes nothing).
CREATE FUNCTION intake_check_patients_named() RETURNS trigger LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  gone TEXT := 'SELECT o.id FROM intake_old o WHERE TRUE';
  orphan BOOLEAN;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I.persons)'
                   ' OR EXISTS (SELECT 1 FROM %1$I.visits)', TG_TABLE_SCHEMA)
      INTO orphan;
  ELSE
    IF TG_OP = 'UPDATE' THEN
      gone := gone || ' AND NOT EXISTS (SELECT 1 FROM intake_new n WHERE n.id = o.id)';
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM (%2$s) g'
                   ' WHERE (SELECT p.id FROM %1$I.patients p WHERE p.id = g.id) IS NULL'
                   ' AND ((SELECT pe.id FROM %1$I.persons pe WHERE pe.id = g.id) IS NOT NULL'
                   ' OR EXISTS (SELECT 1 FROM %1$I.visits v WHERE v.patient_id = g.id)))',
                   TG_TABLE_SCHEMA, gone)
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
  REFERENCING OLD TABLE AS intake_old NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
CREATE TRIGGER patients_reference_truncate AFTER TRUNCATE ON patients
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
