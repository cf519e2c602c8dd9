-- The ground every other part stands on: the org tree, staff, the human-task inbox and the audit
-- log (shared by the CRM store, the engine, the external systems and ops), and the echo table that
-- proves the API → Temporal → worker → activity → PostgreSQL chain.

-- Org units form a tree province → city → county → area. `path` is the materialised chain of ids
-- ('/GD/GD-GZ/GD-GZ-TH/'), so "this unit and everything under it" is one indexed prefix match.
CREATE TABLE org_units (
  id          text PRIMARY KEY CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{0,63}$'),
  parent_id   text REFERENCES org_units (id),
  level       text NOT NULL CHECK (level IN ('province', 'city', 'county', 'area')),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  path        text NOT NULL UNIQUE CHECK (path LIKE '/%/'),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CHECK ((level = 'province') = (parent_id IS NULL))
);
CREATE INDEX org_units_path_prefix ON org_units (path text_pattern_ops);
CREATE INDEX org_units_parent ON org_units (parent_id);

CREATE TABLE staff (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username         text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
  display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  org_unit_id      text NOT NULL REFERENCES org_units (id),
  roles            text[] NOT NULL CHECK (
                     cardinality(roles) > 0 AND
                     roles <@ ARRAY['admin', 'designer', 'ops', 'supervisor', 'customer_manager', 'dispatcher', 'billing_clerk']::text[]),
  email            text,
  mobile           text,
  password_hash    text NOT NULL,
  active           boolean NOT NULL DEFAULT true,
  failed_logins    integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
  locked_until     timestamptz,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_org_unit ON staff (org_unit_id);
CREATE INDEX staff_roles ON staff USING gin (roles);

-- One row per human task, keyed `<workflowId>/<nodeId>/<loopCounter>` so a retried activity upserts
-- the same row instead of creating a second task.
CREATE TABLE human_tasks (
  id                text PRIMARY KEY,
  workflow_id       text NOT NULL,
  run_id            text,
  process_key       text NOT NULL,
  process_version   integer NOT NULL,
  business_key      text NOT NULL,
  node_id           text NOT NULL,
  name              text NOT NULL,
  candidate_groups  text[] NOT NULL DEFAULT '{}',
  candidate_users   text[] NOT NULL DEFAULT '{}',
  assignee          text,
  org_unit_id       text REFERENCES org_units (id),
  customer_id       text,
  priority          integer NOT NULL DEFAULT 50 CHECK (priority BETWEEN 0 AND 100),
  due_at            timestamptz,
  form_key          text,
  form_schema       jsonb,
  context           jsonb NOT NULL DEFAULT '{}',
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled')),
  outcome           jsonb,
  completed_by      text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  claimed_at        timestamptz,
  closed_at         timestamptz,
  version           integer NOT NULL DEFAULT 1,
  CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX human_tasks_open_by_assignee ON human_tasks (assignee, due_at) WHERE status = 'open';
CREATE INDEX human_tasks_open_by_group ON human_tasks USING gin (candidate_groups) WHERE status = 'open';
CREATE INDEX human_tasks_open_by_org ON human_tasks (org_unit_id, due_at) WHERE status = 'open';
CREATE INDEX human_tasks_workflow ON human_tasks (workflow_id);

-- Who did what, when, to which entity, with the state before and after. Append-only.
CREATE TABLE audit_log (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  actor        text NOT NULL,
  action       text NOT NULL,
  entity_type  text NOT NULL,
  entity_id    text NOT NULL,
  org_unit_id  text,
  request_id   text,
  before       jsonb,
  after        jsonb,
  details      jsonb
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are immutable', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The chain proof: one row per echo, keyed by the workflow that wrote it (idempotent on retry).
CREATE TABLE echo_messages (
  workflow_id  text PRIMARY KEY,
  message      text NOT NULL,
  written_at   timestamptz NOT NULL DEFAULT now()
);
