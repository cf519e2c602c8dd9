-- A bill run's progress is pushed while it goes: every insert or change of a run (batches, accounts
-- and records done, status, totals, the decision) is announced on keyflow_bill_runs, and each API
-- process forwards it to the connected billing clerks (api/bill-run-feed.ts), who read the run
-- again through the routes. The payload says which run and its status, nothing more.
CREATE FUNCTION notify_bill_run_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('keyflow_bill_runs', json_build_object('id', NEW.id, 'status', NEW.status,
    'at', (extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER bill_runs_changed
  AFTER INSERT OR UPDATE ON bill_runs
  FOR EACH ROW EXECUTE FUNCTION notify_bill_run_changed();
