-- Billing: usage collection and preprocessing, rating, bill runs, bills with their lines, credit and
-- debit notes, payments, pending adjustments and rerating. Builds on the CRM's billing_accounts,
-- subscriptions, products and tariffs (whose `plan` column is the rating plan, see
-- activities/rating/plan.ts).
--
-- Money is bigint minor units; `*_sub` columns are sub units (1/10 000 of a minor unit), the
-- precision of charges before the rating plan's rounding step.
--
-- The high-volume tables (usage_records, rated_usage) carry no foreign keys: each FK is a per-row
-- trigger that would cost more than the rest of a million-row load. Their references are made by
-- the code that writes them (guiding joins every record to a live subscription) and checked by the
-- bill run's conservation figures.

-- Billing settings of a billing account that the CRM does not hold: the zone its periods and time
-- bands are computed in, the area prefix that makes a call local, and the key-account agreement
-- (discounts, caps, minimum commitment, tax; activities/rating/plan.ts accountAgreementSchema).
-- An account without a row bills in Asia/Shanghai with no agreement.
CREATE TABLE billing_terms (
  billing_account_id  text PRIMARY KEY REFERENCES billing_accounts (id),
  time_zone           text NOT NULL DEFAULT 'Asia/Shanghai' CHECK (time_zone ~ '^[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}$' OR time_zone = 'UTC'),
  home_prefix         text CHECK (home_prefix ~ '^[0-9]{1,15}$'),
  contract_id         text REFERENCES contracts (id),
  agreement           jsonb NOT NULL DEFAULT '{}',
  version             integer NOT NULL DEFAULT 1,
  updated_at          timestamptz NOT NULL DEFAULT now()
);

-- A bill run: one period for the billing accounts of one bill cycle day. Its counters are the
-- run's ledger: progress (done of total) and conservation (in = rated + rejected + duplicate, plus
-- records that belong to another period and records carried in from earlier collections).
CREATE TABLE bill_runs (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  period             text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  cycle_day          smallint NOT NULL DEFAULT 1 CHECK (cycle_day BETWEEN 1 AND 28),
  status             text NOT NULL DEFAULT 'created' CHECK (status IN ('created', 'collecting', 'rating', 'awaiting_approval', 'issuing', 'publishing', 'completed', 'rejected', 'failed')),
  workflow_id        text UNIQUE,
  requested_by       text NOT NULL,
  approval_threshold_percent numeric(6, 2) NOT NULL DEFAULT 20 CHECK (approval_threshold_percent >= 0),
  accounts_total     integer NOT NULL DEFAULT 0,
  accounts_done      integer NOT NULL DEFAULT 0,
  records_total      bigint NOT NULL DEFAULT 0,
  records_done       bigint NOT NULL DEFAULT 0,
  batches_total      integer NOT NULL DEFAULT 0,
  batches_done       integer NOT NULL DEFAULT 0,
  files_collected    integer NOT NULL DEFAULT 0,
  files_quarantined  integer NOT NULL DEFAULT 0,
  records_in         bigint NOT NULL DEFAULT 0,
  records_carried_in bigint NOT NULL DEFAULT 0,
  records_rated      bigint NOT NULL DEFAULT 0,
  records_rejected   bigint NOT NULL DEFAULT 0,
  records_duplicate  bigint NOT NULL DEFAULT 0,
  records_deferred   bigint NOT NULL DEFAULT 0,
  bills_total_minor  bigint,
  previous_total_minor bigint,
  deviation_percent  numeric(12, 2),
  decided_by         text,
  decided_at         timestamptz,
  decision_comment   text CHECK (length(decision_comment) <= 2000),
  error              text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now()
);
-- One live run per (period, cycle day); a rejected or failed run leaves room for the next attempt.
CREATE UNIQUE INDEX bill_runs_one_live_per_period ON bill_runs (period, cycle_day) WHERE status NOT IN ('rejected', 'failed');

-- The account batches of a run, fixed when the run is planned, so a retried or resumed batch
-- covers exactly the same accounts. `done_at` is written in the batch's own transaction: a batch
-- is either wholly done or not at all.
CREATE TABLE bill_run_batches (
  bill_run_id          bigint NOT NULL REFERENCES bill_runs (id) ON DELETE CASCADE,
  batch_no             integer NOT NULL CHECK (batch_no >= 0),
  billing_account_ids  text[] NOT NULL CHECK (cardinality(billing_account_ids) > 0),
  records_planned      bigint NOT NULL DEFAULT 0,
  records_rated        bigint,
  records_rejected     bigint,
  bills                integer,
  done_at              timestamptz,
  PRIMARY KEY (bill_run_id, batch_no)
);

-- A mediation file or a feed delivery, taken exactly once (by sha256). A quarantined file is
-- recorded too, with its reason, and none of its records is loaded.
CREATE TABLE collected_files (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source           text NOT NULL CHECK (source IN ('inbox', 'feed', 'resubmission')),
  file_name        text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 500),
  checksum         text NOT NULL UNIQUE CHECK (checksum ~ '^[0-9a-f]{64}$'),
  size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
  status           text NOT NULL CHECK (status IN ('loaded', 'quarantined')),
  reason_code      text CHECK (reason_code IN ('TRUNCATED', 'BAD_HEADER', 'COUNT_MISMATCH', 'MALFORMED_CSV', 'EMPTY', 'TOO_LARGE', 'BAD_ENCODING')),
  reason           text,
  quarantine_path  text,
  bill_run_id      bigint REFERENCES bill_runs (id),
  records_in       bigint NOT NULL DEFAULT 0,
  records_accepted bigint NOT NULL DEFAULT 0,
  records_rejected bigint NOT NULL DEFAULT 0,
  records_duplicate bigint NOT NULL DEFAULT 0,
  collected_at     timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'quarantined') = (reason_code IS NOT NULL)),
  -- Nothing is lost: every record of a loaded file is accepted, rejected or a duplicate.
  CHECK (records_in = records_accepted + records_rejected + records_duplicate)
);
CREATE INDEX collected_files_run ON collected_files (bill_run_id);

-- Accepted usage: validated, normalised, guided to a subscription and assigned to the billing
-- period of its local date. Unique by (source, record id) and by content, so a duplicate is refused
-- by the insert that would have made it rateable. TMF635 state: see usage_record_states.
CREATE TABLE usage_records (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source              text NOT NULL,
  record_id           text NOT NULL,
  content_hash        uuid NOT NULL,
  file_id             bigint,
  line_no             integer,
  usage_type          text NOT NULL CHECK (usage_type IN ('voice', 'sms', 'data')),
  service_number      text NOT NULL,
  subscription_id     text NOT NULL,
  billing_account_id  text NOT NULL,
  org_unit_id         text NOT NULL,
  period              text NOT NULL,
  started_at          timestamptz NOT NULL,
  duration_sec        integer NOT NULL DEFAULT 0 CHECK (duration_sec >= 0),
  volume_bytes        bigint NOT NULL DEFAULT 0 CHECK (volume_bytes >= 0),
  messages            integer NOT NULL DEFAULT 0 CHECK (messages >= 0),
  destination         text NOT NULL DEFAULT '',
  -- How it entered: 'guided' from collection, 'recycled' when a corrected rejection was resubmitted.
  entry_state         text NOT NULL DEFAULT 'guided' CHECK (entry_state IN ('guided', 'recycled')),
  received_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source, record_id),
  UNIQUE (content_hash)
);
CREATE INDEX usage_records_account_period ON usage_records (billing_account_id, period, started_at);

-- The error table: every record refused by preprocessing or rating, with its reason, as received.
-- A billing clerk may correct and resubmit it (status resubmitted) or discard it.
CREATE TABLE usage_rejections (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source              text,
  record_id           text,
  file_id             bigint REFERENCES collected_files (id),
  line_no             integer,
  bill_run_id         bigint REFERENCES bill_runs (id),
  raw                 jsonb NOT NULL,
  reason_code         text NOT NULL CHECK (reason_code IN (
                        'MISSING_FIELD', 'INVALID_FIELD', 'NEGATIVE_QUANTITY', 'QUANTITY_TOO_LARGE', 'INVALID_TIME', 'FUTURE_TIME',
                        'UNKNOWN_SUBSCRIBER', 'PERIOD_CLOSED', 'INVALID_DESTINATION', 'UNKNOWN_DESTINATION', 'UNSUPPORTED_USAGE_TYPE',
                        'NO_TARIFF', 'RATING_FAILED')),
  reason              text NOT NULL,
  billing_account_id  text,
  org_unit_id         text,
  status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resubmitted', 'discarded')),
  resubmitted_as      bigint,
  resolved_by         text,
  resolved_at         timestamptz,
  rejected_at         timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'open') = (resolved_at IS NULL))
);
CREATE INDEX usage_rejections_open ON usage_rejections (reason_code, rejected_at) WHERE status = 'open';
CREATE INDEX usage_rejections_file ON usage_rejections (file_id);
CREATE INDEX usage_rejections_run ON usage_rejections (bill_run_id);

-- Refused duplicates, kept so the conservation figures can be checked record by record.
CREATE TABLE usage_duplicates (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source        text NOT NULL,
  record_id     text NOT NULL,
  content_hash  uuid NOT NULL,
  file_id       bigint REFERENCES collected_files (id),
  line_no       integer,
  received_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_duplicates_file ON usage_duplicates (file_id);

-- Pending one-off charges and credits (installation fees from orders, compensation credits from
-- complaints), keyed by the idempotency key of the step that posted them. A bill consumes them
-- through bill lines that point back here; what is left of a credit carries to the next bill.
CREATE TABLE billing_adjustments (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  idempotency_key     text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 300),
  billing_account_id  text NOT NULL REFERENCES billing_accounts (id),
  org_unit_id         text NOT NULL REFERENCES org_units (id),
  kind                text NOT NULL CHECK (kind IN ('charge', 'credit')),
  description         text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
  amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  trouble_ticket_id   text REFERENCES trouble_tickets (id),
  order_id            text REFERENCES orders (id),
  cancelled_at        timestamptz,
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_adjustments_account ON billing_adjustments (billing_account_id) WHERE cancelled_at IS NULL;

-- Gap-free number series (bills, credit and debit notes): a counter row updated in the transaction
-- that issues, so a rolled-back issue never burns a number. Sequences cannot promise that.
CREATE TABLE number_series (
  series      text PRIMARY KEY CHECK (series ~ '^[A-Z]{2,4}-\d{4}$'),
  last_value  bigint NOT NULL CHECK (last_value >= 0)
);

-- One bill per billing account per period. Drafts (new, onHold) may be replaced by their run;
-- from validated on, a bill is immutable except for its progress through sent, partiallyPaid and
-- settled; corrections are credit or debit notes. States after TMF678 CustomerBill.
CREATE TABLE bills (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  bill_no             text UNIQUE,
  billing_account_id  text NOT NULL REFERENCES billing_accounts (id),
  account_id          text NOT NULL REFERENCES key_accounts (id),
  org_unit_id         text NOT NULL REFERENCES org_units (id),
  bill_run_id         bigint REFERENCES bill_runs (id),
  period              text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  period_start        date NOT NULL,
  period_end          date NOT NULL,
  time_zone           text NOT NULL,
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  minor_digits        smallint NOT NULL CHECK (minor_digits BETWEEN 0 AND 3),
  status              text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'onHold', 'validated', 'sent', 'partiallyPaid', 'settled')),
  charges_minor       bigint NOT NULL,
  discounts_minor     bigint NOT NULL CHECK (discounts_minor <= 0),
  commitment_minor    bigint NOT NULL CHECK (commitment_minor >= 0),
  credits_minor       bigint NOT NULL CHECK (credits_minor <= 0),
  net_minor           bigint NOT NULL,
  tax_minor           bigint NOT NULL,
  total_minor         bigint NOT NULL,
  paid_minor          bigint NOT NULL DEFAULT 0 CHECK (paid_minor >= 0),
  -- Net effect of credit notes (negative) and debit notes (positive) issued against this bill.
  adjusted_minor      bigint NOT NULL DEFAULT 0,
  records             integer NOT NULL DEFAULT 0,
  issued_at           timestamptz,
  due_date            date,
  sent_at             timestamptz,
  settled_at          timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (billing_account_id, period),
  CHECK (net_minor = charges_minor + discounts_minor + commitment_minor + credits_minor),
  CHECK (total_minor = net_minor + tax_minor),
  CHECK ((bill_no IS NULL) = (status IN ('new', 'onHold'))),
  CHECK (period_end > period_start)
);
CREATE INDEX bills_run ON bills (bill_run_id, billing_account_id);
CREATE INDEX bills_org_period ON bills (org_unit_id, period);
CREATE INDEX bills_open ON bills (due_date) WHERE status IN ('sent', 'partiallyPaid');

CREATE TABLE bill_lines (
  bill_id        bigint NOT NULL REFERENCES bills (id) ON DELETE CASCADE,
  line_no        integer NOT NULL CHECK (line_no >= 1),
  kind           text NOT NULL CHECK (kind IN ('recurring', 'usage', 'bundle', 'oneOff', 'discount', 'commitment', 'credit', 'tax')),
  key            text NOT NULL,
  description    text NOT NULL,
  tariff_id      text REFERENCES tariffs (id),
  product_id     text REFERENCES products (id),
  adjustment_id  bigint REFERENCES billing_adjustments (id),
  quantity       bigint NOT NULL,
  unit           text NOT NULL CHECK (unit IN ('seconds', 'bytes', 'messages', 'days', 'items')),
  amount_minor   bigint NOT NULL,
  detail         jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (bill_id, line_no)
);
CREATE INDEX bill_lines_adjustment ON bill_lines (adjustment_id) WHERE adjustment_id IS NOT NULL;

-- The outcome of second rating per record: one row per rating; a rerating reverses the current
-- row (state reversed) and adds the next rating_no. `bill_id` is the bill it was rated into.
CREATE TABLE rated_usage (
  usage_record_id     bigint NOT NULL,
  rating_no           integer NOT NULL CHECK (rating_no >= 1),
  billing_account_id  text NOT NULL,
  period              text NOT NULL,
  bill_id             bigint,
  tariff_id           text NOT NULL,
  category            text NOT NULL,
  units               bigint NOT NULL CHECK (units >= 0),
  free_units          bigint NOT NULL CHECK (free_units >= 0 AND free_units <= units),
  bundle_id           text,
  charge_sub          bigint NOT NULL CHECK (charge_sub >= 0),
  state               text NOT NULL CHECK (state IN ('rated', 'rerated', 'reversed')),
  rated_at            timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (usage_record_id, rating_no)
);
CREATE INDEX rated_usage_bill ON rated_usage (bill_id);
CREATE INDEX rated_usage_account_period ON rated_usage (billing_account_id, period) WHERE state <> 'reversed';

-- Credit notes (the customer owes less) and debit notes (more) against an issued bill: the only
-- way an issued bill's amount changes. Numbered gap-free per series like bills.
CREATE TABLE bill_notes (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  note_no             text NOT NULL UNIQUE,
  kind                text NOT NULL CHECK (kind IN ('credit', 'debit')),
  bill_id             bigint NOT NULL REFERENCES bills (id),
  billing_account_id  text NOT NULL REFERENCES billing_accounts (id),
  org_unit_id         text NOT NULL REFERENCES org_units (id),
  rerate_id           bigint,
  reason              text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  net_minor           bigint NOT NULL CHECK (net_minor >= 0),
  tax_minor           bigint NOT NULL CHECK (tax_minor >= 0),
  total_minor         bigint NOT NULL CHECK (total_minor > 0),
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (total_minor = net_minor + tax_minor)
);
CREATE INDEX bill_notes_bill ON bill_notes (bill_id);

CREATE TABLE bill_note_lines (
  note_id        bigint NOT NULL REFERENCES bill_notes (id),
  line_no        integer NOT NULL CHECK (line_no >= 1),
  key            text NOT NULL,
  description    text NOT NULL,
  amount_minor   bigint NOT NULL CHECK (amount_minor >= 0),
  PRIMARY KEY (note_id, line_no)
);

-- Payments against bills, idempotent by the payer's (bank's) reference.
CREATE TABLE payments (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payment_ref         text NOT NULL UNIQUE CHECK (length(payment_ref) BETWEEN 1 AND 200),
  bill_id             bigint NOT NULL REFERENCES bills (id),
  billing_account_id  text NOT NULL REFERENCES billing_accounts (id),
  org_unit_id         text NOT NULL REFERENCES org_units (id),
  amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
  currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  method              text NOT NULL CHECK (method IN ('bank_transfer', 'direct_debit', 'cash', 'card', 'other')),
  received_at         timestamptz NOT NULL,
  recorded_by         text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_bill ON payments (bill_id);

-- Rerating of an account or a whole period after a tariff correction; idempotent by request key.
CREATE TABLE rerate_requests (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_key         text NOT NULL UNIQUE CHECK (length(request_key) BETWEEN 1 AND 300),
  period              text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  billing_account_id  text REFERENCES billing_accounts (id),
  reason              text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  requested_by        text NOT NULL,
  status              text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed')),
  accounts            integer NOT NULL DEFAULT 0,
  records             bigint NOT NULL DEFAULT 0,
  difference_minor    bigint NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz
);

-- The difference report of a rerating, line by line per account.
CREATE TABLE rerate_differences (
  rerate_id           bigint NOT NULL REFERENCES rerate_requests (id),
  billing_account_id  text NOT NULL REFERENCES billing_accounts (id),
  bill_id             bigint NOT NULL REFERENCES bills (id),
  key                 text NOT NULL,
  description         text NOT NULL,
  before_minor        bigint NOT NULL,
  after_minor         bigint NOT NULL,
  difference_minor    bigint NOT NULL,
  PRIMARY KEY (rerate_id, billing_account_id, key),
  CHECK (difference_minor = after_minor - before_minor)
);
ALTER TABLE bill_notes ADD FOREIGN KEY (rerate_id) REFERENCES rerate_requests (id);

-- Publishing (notice to the customer, sync to accounting) and dunning steps, one row per step per
-- bill, keyed by the step's idempotency key so a retried activity never sends twice.
CREATE TABLE bill_events (
  idempotency_key  text PRIMARY KEY,
  bill_id          bigint NOT NULL REFERENCES bills (id),
  kind             text NOT NULL CHECK (kind IN ('notice_sms', 'notice_email', 'accounting_sync', 'reminder_1', 'reminder_2', 'grey_list', 'suspend', 'black_list', 'restore', 'dunning_closed')),
  external_ref     text,
  detail           jsonb NOT NULL DEFAULT '{}',
  at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bill_events_bill ON bill_events (bill_id, at);

-- Issued bills and their lines do not change: only a bill's progress (sent, paid, settled) moves
-- on, forward, and a draft may still be held, released or replaced by its run.
CREATE FUNCTION guard_bill_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ranks CONSTANT text[] := ARRAY['new', 'onHold', 'validated', 'sent', 'partiallyPaid', 'settled'];
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.status NOT IN ('new', 'onHold') THEN
      RAISE EXCEPTION 'bill % is issued and cannot be deleted', OLD.bill_no USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.status IN ('new', 'onHold') THEN
    IF NEW.status = 'validated' AND NEW.total_minor <> (SELECT coalesce(sum(amount_minor), 0) FROM bill_lines WHERE bill_id = NEW.id) THEN
      RAISE EXCEPTION 'bill % lines do not add up to its total', NEW.id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  IF (NEW.bill_no, NEW.billing_account_id, NEW.account_id, NEW.period, NEW.currency, NEW.charges_minor, NEW.discounts_minor,
      NEW.commitment_minor, NEW.credits_minor, NEW.net_minor, NEW.tax_minor, NEW.total_minor, NEW.issued_at, NEW.due_date, NEW.records)
     IS DISTINCT FROM
     (OLD.bill_no, OLD.billing_account_id, OLD.account_id, OLD.period, OLD.currency, OLD.charges_minor, OLD.discounts_minor,
      OLD.commitment_minor, OLD.credits_minor, OLD.net_minor, OLD.tax_minor, OLD.total_minor, OLD.issued_at, OLD.due_date, OLD.records) THEN
    RAISE EXCEPTION 'bill % is issued: correct it with a credit or debit note', OLD.bill_no USING ERRCODE = 'restrict_violation';
  END IF;
  IF array_position(ranks, NEW.status) < array_position(ranks, OLD.status) AND NOT (OLD.status = 'settled' AND NEW.status = 'partiallyPaid') THEN
    RAISE EXCEPTION 'bill % cannot go back from % to %', OLD.bill_no, OLD.status, NEW.status USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER bills_guard BEFORE UPDATE OR DELETE ON bills FOR EACH ROW EXECUTE FUNCTION guard_bill_change();

CREATE FUNCTION guard_bill_line_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  bill_status text;
BEGIN
  SELECT status INTO bill_status FROM bills WHERE id = coalesce(NEW.bill_id, OLD.bill_id);
  -- A cascade from deleting a draft finds no bill row any more: that is allowed.
  IF bill_status IS NOT NULL AND bill_status NOT IN ('new', 'onHold') THEN
    RAISE EXCEPTION 'bill % is issued: its lines cannot change', coalesce(NEW.bill_id, OLD.bill_id) USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER bill_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON bill_lines FOR EACH ROW EXECUTE FUNCTION guard_bill_line_change();

CREATE TRIGGER bill_notes_immutable BEFORE UPDATE OR DELETE ON bill_notes FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER bill_note_lines_immutable BEFORE UPDATE OR DELETE ON bill_note_lines FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER payments_immutable BEFORE UPDATE OR DELETE ON payments FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Each usage record's state after TMF635: rejected and recycled come from the error table, the
-- rest from the record and its current rating; billed once the bill it was rated into is issued.
CREATE VIEW usage_record_states AS
SELECT u.id AS usage_record_id, u.source, u.record_id, u.billing_account_id, u.org_unit_id, u.period,
  CASE
    WHEN r.usage_record_id IS NULL THEN u.entry_state
    WHEN b.status IN ('validated', 'sent', 'partiallyPaid', 'settled') AND r.rating_no = 1 THEN 'billed'
    ELSE r.state
  END AS state,
  r.rating_no, r.charge_sub, r.bill_id
FROM usage_records u
LEFT JOIN rated_usage r ON r.usage_record_id = u.id AND r.state <> 'reversed'
LEFT JOIN bills b ON b.id = r.bill_id
UNION ALL
SELECT NULL, j.source, j.record_id, j.billing_account_id, j.org_unit_id, NULL,
  CASE j.status WHEN 'open' THEN 'rejected' WHEN 'resubmitted' THEN 'recycled' ELSE 'rejected' END,
  NULL, NULL, NULL
FROM usage_rejections j;
