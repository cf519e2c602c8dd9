-- Supervision tickets (督办工单) as processes (processes/supervision.bpmn, supervision-node.bpmn):
-- a ticket is issued to one or many units and flows down the org tree as a tree of nodes, one per
-- unit or customer manager that takes a part of it; each node is one `supervision-node` instance.
-- Recurring tickets (weekly work plans, account visits) and KPI alerts open tickets of their own
-- kind, once per cause and period (dedupe_key).

ALTER TABLE supervision_tickets
  ADD COLUMN kind               text NOT NULL DEFAULT 'supervision' CHECK (kind IN ('supervision', 'work_plan', 'visit', 'alert')),
  ADD COLUMN goal               text CHECK (length(goal) <= 4000),
  ADD COLUMN priority           smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  ADD COLUMN attachments        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(attachments) = 'array'),
  -- The accounts the ticket concerns (account_id keeps the first, for the existing lists).
  ADD COLUMN account_ids        text[] NOT NULL DEFAULT '{}',
  ADD COLUMN issued_by_username text,
  ADD COLUMN remind_at          timestamptz,
  ADD COLUMN reminded_at        timestamptz,
  ADD COLUMN escalated_at       timestamptz,
  -- What opened an alert or recurring ticket: cause, period and the figures that triggered it.
  ADD COLUMN cause              jsonb,
  ADD COLUMN dedupe_key         text UNIQUE CHECK (length(dedupe_key) BETWEEN 1 AND 300);
CREATE INDEX supervision_tickets_issuer ON supervision_tickets (issued_by_unit_id, created_at DESC);

CREATE SEQUENCE supervision_nodes_seq;
-- One node per unit or customer manager a ticket reached. A unit node is passed down by its
-- unit's supervisor (assignee) to the units and managers below; a manager node is worked and
-- reported by the manager. What comes up is reviewed by `reviewer` (the one who passed it down,
-- or the issuer); a node without reviewer is accepted when reported.
CREATE TABLE supervision_nodes (
  id               text PRIMARY KEY DEFAULT 'SN' || lpad(nextval('supervision_nodes_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  ticket_id        text NOT NULL REFERENCES supervision_tickets (id),
  parent_id        text REFERENCES supervision_nodes (id),
  kind             text NOT NULL CHECK (kind IN ('unit', 'manager')),
  org_unit_id      text NOT NULL REFERENCES org_units (id),
  assignee         text,
  reviewer         text,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dispatching', 'in_progress', 'reported', 'sent_back', 'accepted', 'cancelled')),
  instructions     text CHECK (length(instructions) <= 4000),
  result           text CHECK (length(result) <= 8000),
  outcome          text CHECK (outcome IN ('done', 'partial', 'not_possible')),
  last_report      text CHECK (length(last_report) <= 4000),
  last_report_at   timestamptz,
  send_back_reason text CHECK (length(send_back_reason) <= 1000),
  send_backs       smallint NOT NULL DEFAULT 0,
  due_at           timestamptz NOT NULL,
  overdue_at       timestamptz,
  reported_at      timestamptz,
  completed_at     timestamptz,
  -- The step that made the node: a retried pass-down finds its rows instead of adding more.
  created_by_step  text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (created_by_step, kind, org_unit_id, assignee)
);
CREATE INDEX supervision_nodes_ticket ON supervision_nodes (ticket_id, id);
CREATE INDEX supervision_nodes_parent ON supervision_nodes (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX supervision_nodes_org_created ON supervision_nodes (org_unit_id, created_at);
CREATE INDEX supervision_nodes_open_assignee ON supervision_nodes (assignee) WHERE state NOT IN ('accepted', 'cancelled');

-- Progress reports and results, as many as the assignee writes.
CREATE TABLE supervision_reports (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  node_id     text NOT NULL REFERENCES supervision_nodes (id),
  ticket_id   text NOT NULL REFERENCES supervision_tickets (id),
  kind        text NOT NULL CHECK (kind IN ('progress', 'result', 'review', 'sent_back', 'instructions')),
  text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 8000),
  percent     smallint CHECK (percent BETWEEN 0 AND 100),
  author      text NOT NULL,
  -- A step of the process writes its row once, however often retried.
  dedupe_key  text UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supervision_reports_node ON supervision_reports (node_id, id);

-- Visits to key accounts (走访): a visit ticket closes when its manager records one.
CREATE TABLE supervision_visits (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_id     text REFERENCES supervision_tickets (id),
  account_id    text NOT NULL REFERENCES key_accounts (id),
  org_unit_id   text NOT NULL REFERENCES org_units (id),
  manager       text NOT NULL,
  visited_on    date NOT NULL,
  contact_id    text REFERENCES contacts (id),
  contact_name  text CHECK (length(contact_name) <= 200),
  notes         text CHECK (length(notes) <= 4000),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supervision_visits_account ON supervision_visits (account_id, visited_on DESC);

-- Notices about a supervision ticket (reminders, escalations) beside those about trouble tickets.
ALTER TABLE staff_notices ADD COLUMN supervision_ticket_id text REFERENCES supervision_tickets (id);

-- A key contact who left (离职/调岗) stays on record, marked inactive.
ALTER TABLE contacts ADD COLUMN active boolean NOT NULL DEFAULT true;
