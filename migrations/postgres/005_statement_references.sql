-- Intake schema for PostgreSQL, version 5: the references of persons and visits to patients,
-- checked once per statement instead of once per row.
-- A FOREIGN KEY checks every row it is given with a query of its own, and with the row lock that
-- goes with it: about 13 µs a row on the bench machine, 40 % of the time of a load's statements
-- (docs/schema.md, "References"). The same rules, as statement triggers over the statement's rows
-- (transition tables), one anti-join each:
--   persons.id and visits.patient_id name a patient          (checked on INSERT and UPDATE)
--   a patient that a person or a visit names stays, with its id (DELETE, UPDATE and TRUNCATE)
-- A broken rule raises SQLSTATE 23503 (foreign_key_violation), as the constraints did, and the
-- statement fails. Concurrency, as the constraints had it:
--   - patients' side: the check first locks persons and visits in SHARE mode, so it waits for every
--     transaction that wrote them and then reads what they committed (READ COMMITTED). Under
--     REPEATABLE READ or SERIALIZABLE a snapshot could miss those rows, so deleting patients or
--     changing their ids there is refused (SQLSTATE 0A000): Intake never does either.
--   - persons' and visits' side: under READ COMMITTED the check reads the patients committed when
--     it runs (a delete of them waits for the writer's SHARE-mode conflict, above, or committed
--     before). Under REPEATABLE READ or SERIALIZABLE it also locks the named patients FOR KEY SHARE,
--     as the constraints did, so a concurrent delete ends in a serialization failure.
-- Every name is resolved in the schema of the table written (TG_TABLE_SCHEMA), whatever the
-- writer's search_path.
ALTER TABLE persons DROP CONSTRAINT persons_id_fkey;
ALTER TABLE visits DROP CONSTRAINT visits_patient_id_fkey;

-- After INSERT or UPDATE of persons (TG_ARGV: 'id', 'id') or visits ('patient_id', 'id'):
-- TG_ARGV[0] names the patient, TG_ARGV[1] is the row's own key. An UPDATE checks only the rows
-- whose reference changed (a constraint skips the others too).
CREATE FUNCTION intake_check_names_patient() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  named TEXT;
  orphan BOOLEAN;
BEGIN
  named := format('SELECT n.%1$I AS ref FROM intake_new n', TG_ARGV[0]);
  IF TG_OP = 'UPDATE' THEN
    named := named || format(' WHERE NOT EXISTS (SELECT 1 FROM intake_old o'
                             ' WHERE o.%2$I = n.%2$I AND o.%1$I = n.%1$I)', TG_ARGV[0], TG_ARGV[1]);
  END IF;
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    EXECUTE format('SELECT 1 FROM %I.patients p WHERE p.id IN (%s) FOR KEY SHARE OF p',
                   TG_TABLE_SCHEMA, named);
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM (%s) c WHERE NOT EXISTS'
                 ' (SELECT 1 FROM %I.patients p WHERE p.id = c.ref))', named, TG_TABLE_SCHEMA)
    INTO orphan;
  IF orphan THEN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
      MESSAGE = format('insert or update on table "%s" violates its reference to "patients"',
                       TG_TABLE_NAME),
      DETAIL = format('Some %s.%s names no patient.', TG_TABLE_NAME, TG_ARGV[0]);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER persons_patient_insert AFTER INSERT ON persons
  REFERENCING NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_names_patient('id', 'id');
CREATE TRIGGER persons_patient_update AFTER UPDATE ON persons
  REFERENCING OLD TABLE AS intake_old NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_names_patient('id', 'id');
CREATE TRIGGER visits_patient_insert AFTER INSERT ON visits
  REFERENCING NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_names_patient('patient_id', 'id');
CREATE TRIGGER visits_patient_update AFTER UPDATE ON visits
  REFERENCING OLD TABLE AS intake_old NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_names_patient('patient_id', 'id');

-- After DELETE, UPDATE or TRUNCATE of patients: no person or visit may name a patient that is gone
-- (the ids of the old rows that are no longer in patients; an UPDATE that keeps every id, or a
-- DELETE of no row, checks nothing and locks nothing). After TRUNCATE (no transition tables) any
-- person or visit left is an orphan: truncate the three tables together.
CREATE FUNCTION intake_check_patients_named() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  gone TEXT := 'SELECT o.id FROM intake_old o';
  orphan BOOLEAN;
  any_gone BOOLEAN := TRUE;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    gone := gone || ' WHERE NOT EXISTS (SELECT 1 FROM intake_new n WHERE n.id = o.id)';
  END IF;
  IF TG_OP <> 'TRUNCATE' THEN
    EXECUTE format('SELECT EXISTS (%s)', gone) INTO any_gone;
  END IF;
  IF NOT any_gone THEN
    RETURN NULL;
  END IF;
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
      MESSAGE = format('%s on table "patients" needs READ COMMITTED isolation (persons and visits'
                       ' name patients)', TG_OP);
  END IF;
  EXECUTE format('LOCK TABLE %1$I.persons, %1$I.visits IN SHARE MODE', TG_TABLE_SCHEMA);
  IF TG_OP = 'TRUNCATE' THEN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I.persons)'
                   ' OR EXISTS (SELECT 1 FROM %1$I.visits)', TG_TABLE_SCHEMA)
      INTO orphan;
  ELSE
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM (%2$s) g'
                   ' WHERE NOT EXISTS (SELECT 1 FROM %1$I.patients p WHERE p.id = g.id)'
                   ' AND (EXISTS (SELECT 1 FROM %1$I.persons pe WHERE pe.id = g.id)'
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

CREATE TRIGGER patients_named_delete AFTER DELETE ON patients
  REFERENCING OLD TABLE AS intake_old
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
CREATE TRIGGER patients_named_update AFTER UPDATE ON patients
  REFERENCING OLD TABLE AS intake_old NEW TABLE AS intake_new
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
CREATE TRIGGER patients_named_truncate AFTER TRUNCATE ON patients
  FOR EACH STATEMENT EXECUTE FUNCTION intake_check_patients_named();
