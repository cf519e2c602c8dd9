-- The task list refreshes by itself: every change to a task a person may see (a new task, a claim,
-- a hand-out, a close) is announced on the channel keyflow_inbox, and each API process forwards it
-- to the connected staff it concerns (api/inbox-feed.ts). The payload carries what the API needs
-- to decide who is concerned — never the task's data, which each client reads through the routes.
-- A payload that would not fit NOTIFY's 8,000 bytes (very long ids or candidate lists) says only
-- which task changed, and the API reads the rest.
CREATE FUNCTION notify_inbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  change text;
  payload text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    change := 'created';
  ELSIF NEW.status <> 'open' AND OLD.status = 'open' THEN
    change := 'closed';
  ELSIF NEW.assignee IS DISTINCT FROM OLD.assignee THEN
    change := 'assigned';
  ELSIF NEW.due_at IS DISTINCT FROM OLD.due_at OR NEW.priority <> OLD.priority THEN
    change := 'updated';
  ELSE
    RETURN NULL;
  END IF;
  payload := json_build_object(
    'id', NEW.id,
    'change', change,
    'assignee', NEW.assignee,
    'previousAssignee', CASE WHEN TG_OP = 'UPDATE' THEN OLD.assignee END,
    'groups', NEW.candidate_groups,
    'users', NEW.candidate_users,
    'orgPath', (SELECT path FROM org_units WHERE id = NEW.org_unit_id),
    'at', (extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text;
  IF octet_length(payload) > 7900 THEN
    payload := json_build_object('id', left(NEW.id, 3000), 'change', change, 'partial', true,
      'previousAssignee', CASE WHEN TG_OP = 'UPDATE' THEN left(OLD.assignee, 200) END,
      'at', (extract(epoch FROM clock_timestamp()) * 1000)::bigint)::text;
  END IF;
  PERFORM pg_notify('keyflow_inbox', payload);
  RETURN NULL;
END $$;

CREATE TRIGGER human_tasks_inbox_changed
  AFTER INSERT OR UPDATE ON human_tasks
  FOR EACH ROW EXECUTE FUNCTION notify_inbox_changed();
