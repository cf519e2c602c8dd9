-- Trouble tickets driven by the complaint process (processes/complaint.bpmn): TM Forum TMF621
-- states, the fields of a TMF621 intake, the SLA clock (stopped while the ticket waits for the
-- customer), each transition as an event, notes and attachments, compensation proposals, the
-- network element a subscription rides on (alarms open fault tickets for its accounts), and a
-- contract's SLA terms.

-- TMF621 state names. 'open' was the state before acknowledgement; the process acknowledges at once.
ALTER TABLE trouble_tickets DROP CONSTRAINT trouble_tickets_status_check;
UPDATE trouble_tickets SET status = 'acknowledged' WHERE status = 'open';
UPDATE trouble_tickets SET status = 'inProgress' WHERE status = 'in_progress';
ALTER TABLE trouble_tickets ALTER COLUMN status SET DEFAULT 'acknowledged';
ALTER TABLE trouble_tickets ADD CONSTRAINT trouble_tickets_status_check
  CHECK (status IN ('acknowledged', 'inProgress', 'pending', 'held', 'resolved', 'closed', 'rejected', 'cancelled'));
DROP INDEX trouble_tickets_open_by_org;
CREATE INDEX trouble_tickets_open_by_org ON trouble_tickets (org_unit_id, sla_due_at) WHERE status IN ('acknowledged', 'inProgress', 'pending', 'held');

ALTER TABLE trouble_tickets
  -- The intake's own id for the report (the caller's ticket number): a second intake with it joins this ticket.
  ADD COLUMN external_id         text CHECK (length(external_id) BETWEEN 1 AND 100),
  ADD COLUMN priority            smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
  ADD COLUMN department          text CHECK (length(department) BETWEEN 1 AND 64),
  ADD COLUMN candidate_group     text CHECK (length(candidate_group) BETWEEN 1 AND 64),
  ADD COLUMN sla_hours           numeric CHECK (sla_hours > 0),
  -- The reminder instant (75 % of the SLA); both move on by the time the clock stood still.
  ADD COLUMN sla_reminder_at     timestamptz,
  ADD COLUMN sla_paused_at       timestamptz,
  ADD COLUMN sla_paused_seconds  bigint NOT NULL DEFAULT 0 CHECK (sla_paused_seconds >= 0),
  ADD COLUMN sla_reminded_at     timestamptz,
  ADD COLUMN sla_breached_at     timestamptz,
  ADD COLUMN escalation_level    smallint NOT NULL DEFAULT 0 CHECK (escalation_level BETWEEN 0 AND 2),
  ADD COLUMN root_cause          text CHECK (length(root_cause) BETWEEN 1 AND 64),
  ADD COLUMN reopen_count        smallint NOT NULL DEFAULT 0 CHECK (reopen_count >= 0),
  ADD COLUMN survey              jsonb,
  ADD COLUMN merged_into         text REFERENCES trouble_tickets (id),
  -- A fault opened by a network alarm: one ticket per (alarm, account).
  ADD COLUMN alarm_id            text CHECK (length(alarm_id) BETWEEN 1 AND 64),
  ADD COLUMN network_element_id  text CHECK (length(network_element_id) BETWEEN 1 AND 64),
  ADD COLUMN created_by          text;
CREATE UNIQUE INDEX trouble_tickets_external_id ON trouble_tickets (account_id, external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX trouble_tickets_alarm_account ON trouble_tickets (alarm_id, account_id) WHERE alarm_id IS NOT NULL;
-- Duplicate intake: the open ticket of the same account, subscription and category.
CREATE INDEX trouble_tickets_open_duplicates ON trouble_tickets (account_id, category, created_at DESC) WHERE status IN ('acknowledged', 'inProgress', 'pending', 'held');

-- Every transition of a ticket, keyed by the idempotency key of the step that made it, so a
-- retried step finds the event it wrote and applies nothing twice.
CREATE TABLE trouble_ticket_events (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_id        text NOT NULL REFERENCES trouble_tickets (id),
  idempotency_key  text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  event            text NOT NULL CHECK (length(event) BETWEEN 1 AND 40),
  status_before    text,
  status_after     text NOT NULL,
  actor            text NOT NULL,
  details          jsonb NOT NULL DEFAULT '{}',
  result           jsonb NOT NULL,
  at               timestamptz NOT NULL
);
CREATE INDEX trouble_ticket_events_ticket ON trouble_ticket_events (ticket_id, id);

-- Notes and attachments (TMF621 note[] and attachment[]): from the intake, the staff, a duplicate intake.
CREATE TABLE trouble_ticket_notes (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_id        text NOT NULL REFERENCES trouble_tickets (id),
  idempotency_key  text UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  author           text NOT NULL,
  text             text CHECK (length(text) BETWEEN 1 AND 4000),
  attachment       jsonb,
  created_at       timestamptz NOT NULL DEFAULT now(),
  CHECK (text IS NOT NULL OR attachment IS NOT NULL)
);
CREATE INDEX trouble_ticket_notes_ticket ON trouble_ticket_notes (ticket_id, id);

-- Compensation for a ticket: proposed by the handler or by the contract's SLA terms, approved
-- above a threshold, then posted (a credit becomes a billing adjustment on the next bill).
CREATE TABLE trouble_ticket_compensations (
  id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_id              text NOT NULL REFERENCES trouble_tickets (id),
  idempotency_key        text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  kind                   text NOT NULL CHECK (kind IN ('credit', 'serviceExtension', 'replacement')),
  amount_minor           bigint NOT NULL CHECK (amount_minor >= 0),
  currency               text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  reason                 text NOT NULL CHECK (length(reason) BETWEEN 1 AND 40),
  status                 text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'approved', 'rejected', 'posted')),
  decided_by             text,
  billing_adjustment_id  bigint REFERENCES billing_adjustments (id),
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trouble_ticket_compensations_ticket ON trouble_ticket_compensations (ticket_id);

-- In-app notices to staff (the SLA reminder to a handler), beside the SMS.
CREATE TABLE staff_notices (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  username    text NOT NULL,
  kind        text NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
  ticket_id   text REFERENCES trouble_tickets (id),
  text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
  -- One notice per step and recipient, however often the step is retried.
  dedupe_key  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  read_at     timestamptz
);
CREATE INDEX staff_notices_username ON staff_notices (username, id DESC);

-- The network element (a PE router, an OLT, …) a subscription rides on: an alarm on it is a fault
-- for every account with a live subscription there.
ALTER TABLE subscriptions ADD COLUMN network_element_id text CHECK (length(network_element_id) BETWEEN 1 AND 64);
CREATE INDEX subscriptions_network_element ON subscriptions (network_element_id) WHERE network_element_id IS NOT NULL AND status <> 'terminated';

-- A contract's SLA terms: hours to resolve by severity, and whether a breach is compensated, e.g.
-- {"hours": {"critical": 4, "major": 8}, "breachCreditMinor": 50000}. Absent: the decision tables decide.
ALTER TABLE contracts ADD COLUMN sla_terms jsonb CHECK (sla_terms IS NULL OR jsonb_typeof(sla_terms) = 'object');
