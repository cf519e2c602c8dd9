-- What publishing, dunning, the usage feed and rerating needed beyond 0400.

-- The accounting system's id of a billing account, learnt when its first bill is published.
ALTER TABLE billing_terms ADD COLUMN accounting_account_id text;

-- Of records_rejected: accepted records a batch could no longer rate (moved to the error table),
-- so the run's ledger can tell what its own collection accepted from what was carried in.
ALTER TABLE bill_runs ADD COLUMN records_rejected_at_rating bigint NOT NULL DEFAULT 0;

-- How far the simulator's (or a real mediation system's) usage feed has been read: advanced in the
-- transaction that loads the page, so a page is taken exactly once.
CREATE TABLE usage_feed_cursors (
  feed        text PRIMARY KEY,
  cursor      text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A rerating note's figures are in the note's direction (what the customer owes less for a credit
-- note, more for a debit note), and its lines are signed from the customer's side: one line may
-- go up while the note as a whole goes down.
ALTER TABLE bill_notes DROP CONSTRAINT bill_notes_net_minor_check;
ALTER TABLE bill_notes DROP CONSTRAINT bill_notes_tax_minor_check;
ALTER TABLE bill_note_lines DROP CONSTRAINT bill_note_lines_amount_minor_check;

ALTER TABLE bill_events DROP CONSTRAINT bill_events_kind_check;
ALTER TABLE bill_events ADD CONSTRAINT bill_events_kind_check CHECK (kind IN (
  'accounting_account', 'notice_sms', 'notice_email', 'accounting_sync', 'publish_failed',
  'dunning_opened', 'reminder_1', 'reminder_2', 'grey_list', 'suspend', 'black_list', 'restore', 'dunning_closed'));
