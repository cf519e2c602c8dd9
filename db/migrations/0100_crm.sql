-- The CRM store: key accounts and everything that hangs off them, the product catalogue with
-- versioned tariffs, orders, trouble tickets and supervision tickets, and login sessions.
--
-- Ids: every CRM row has a text id, a short prefix plus a zero-padded number from its own sequence
-- ('KA00000042', 'OR00000007'), so ids are readable on the phone, usable as BPMN business keys and
-- as Temporal search attribute values, and never collide across kinds. Staff keep the bigint id of
-- the foundation migration (and are named by username in tasks). Products have a catalogue code.
--
-- Every row that belongs to a customer carries org_unit_id (the account's unit when it was written),
-- so a query is scoped to the caller's subtree without joining through the account.
-- Money is bigint minor units with an ISO-4217 currency beside it.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Opaque bearer tokens: only the sha256 of a token is stored, so a leaked table logs no one in.
CREATE TABLE staff_sessions (
  token_hash    text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
  staff_id      bigint NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  -- A session is renewed while used, but never beyond this.
  max_expires_at timestamptz NOT NULL,
  revoked_at    timestamptz,
  ip            text,
  user_agent    text,
  CHECK (expires_at <= max_expires_at)
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

CREATE SEQUENCE key_accounts_seq;
CREATE TABLE key_accounts (
  id                   text PRIMARY KEY DEFAULT 'KA' || lpad(nextval('key_accounts_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- Unified social credit code (统一社会信用代码): 18 characters, unique when known.
  registration_no      text UNIQUE CHECK (registration_no ~ '^[0-9A-Z]{18}$'),
  industry             text NOT NULL CHECK (industry IN ('government', 'finance', 'education', 'healthcare', 'manufacturing', 'retail', 'logistics', 'energy', 'media', 'hospitality', 'technology', 'other')),
  tier                 text NOT NULL CHECK (tier IN ('gold', 'silver', 'bronze')),
  -- red: protected (never suspended for arrears); grey: watched; black: refused new business.
  credit_list          text NOT NULL DEFAULT 'none' CHECK (credit_list IN ('none', 'red', 'grey', 'black')),
  credit_limit_minor   bigint NOT NULL DEFAULT 0 CHECK (credit_limit_minor >= 0),
  currency             text NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
  status               text NOT NULL DEFAULT 'prospect' CHECK (status IN ('prospect', 'active', 'suspended', 'churned')),
  customer_manager_id  bigint REFERENCES staff (id),
  org_unit_id          text NOT NULL REFERENCES org_units (id),
  address              text CHECK (length(address) <= 500),
  notes                text CHECK (length(notes) <= 4000),
  version              integer NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
-- The account list is keyset-paginated on (name, id); the scope and filters ride along.
CREATE INDEX key_accounts_name_id ON key_accounts (name, id);
CREATE INDEX key_accounts_org_name ON key_accounts (org_unit_id, name, id);
CREATE INDEX key_accounts_manager ON key_accounts (customer_manager_id);
CREATE INDEX key_accounts_name_trgm ON key_accounts USING gin (name gin_trgm_ops);

CREATE SEQUENCE contacts_seq;
CREATE TABLE contacts (
  id            text PRIMARY KEY DEFAULT 'CT' || lpad(nextval('contacts_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  account_id    text NOT NULL REFERENCES key_accounts (id) ON DELETE CASCADE,
  org_unit_id   text NOT NULL REFERENCES org_units (id),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  title         text CHECK (length(title) <= 200),
  role          text NOT NULL DEFAULT 'other' CHECK (role IN ('decision_maker', 'technical', 'finance', 'procurement', 'other')),
  is_key_person boolean NOT NULL DEFAULT false,
  phone         text CHECK (phone ~ '^\+?[0-9 -]{5,32}$'),
  email         text CHECK (length(email) <= 320 AND email LIKE '%_@_%'),
  notes         text CHECK (length(notes) <= 4000),
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_account ON contacts (account_id);

CREATE SEQUENCE contracts_seq;
CREATE TABLE contracts (
  id           text PRIMARY KEY DEFAULT 'CN' || lpad(nextval('contracts_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  account_id   text NOT NULL REFERENCES key_accounts (id),
  org_unit_id  text NOT NULL REFERENCES org_units (id),
  contract_no  text NOT NULL UNIQUE CHECK (length(contract_no) BETWEEN 1 AND 64),
  title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'expired', 'terminated')),
  signed_on    date,
  starts_on    date NOT NULL,
  ends_on      date,
  value_minor  bigint NOT NULL DEFAULT 0 CHECK (value_minor >= 0),
  currency     text NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
CREATE INDEX contracts_account ON contracts (account_id);

-- The catalogue is the operator's, not a customer's: no org unit.
CREATE TABLE products (
  id           text PRIMARY KEY CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  category     text NOT NULL CHECK (category IN ('internet', 'dedicated_line', 'voice', 'mobile', 'sms', 'cloud', 'idc', 'iot')),
  description  text CHECK (length(description) <= 4000),
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  version      integer NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A product's price over time: each change is a new version valid from a date; a subscription
-- pins the tariff it was sold at. `plan` holds the rating rules (shape defined by activities/rating/).
CREATE SEQUENCE tariffs_seq;
CREATE TABLE tariffs (
  id                  text PRIMARY KEY DEFAULT 'TF' || lpad(nextval('tariffs_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  product_id          text NOT NULL REFERENCES products (id),
  version             integer NOT NULL CHECK (version >= 1),
  name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  valid_from          timestamptz NOT NULL,
  valid_to            timestamptz,
  currency            text NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
  monthly_fee_minor   bigint NOT NULL CHECK (monthly_fee_minor >= 0),
  one_off_fee_minor   bigint NOT NULL DEFAULT 0 CHECK (one_off_fee_minor >= 0),
  plan                jsonb NOT NULL DEFAULT '{}',
  created_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (product_id, version),
  CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX tariffs_product_valid ON tariffs (product_id, valid_from DESC);

CREATE SEQUENCE billing_accounts_seq;
CREATE TABLE billing_accounts (
  id                 text PRIMARY KEY DEFAULT 'BA' || lpad(nextval('billing_accounts_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  account_id         text NOT NULL REFERENCES key_accounts (id),
  org_unit_id        text NOT NULL REFERENCES org_units (id),
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  currency           text NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
  bill_cycle_day     smallint NOT NULL DEFAULT 1 CHECK (bill_cycle_day BETWEEN 1 AND 28),
  payment_method     text NOT NULL DEFAULT 'bank_transfer' CHECK (payment_method IN ('bank_transfer', 'direct_debit', 'cash', 'prepaid')),
  bank_account       text CHECK (length(bank_account) <= 64),
  invoice_title      text CHECK (length(invoice_title) <= 200),
  status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
  version            integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_accounts_account ON billing_accounts (account_id);

CREATE SEQUENCE orders_seq;
CREATE TABLE orders (
  id                   text PRIMARY KEY DEFAULT 'OR' || lpad(nextval('orders_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  account_id           text NOT NULL REFERENCES key_accounts (id),
  org_unit_id          text NOT NULL REFERENCES org_units (id),
  billing_account_id   text REFERENCES billing_accounts (id),
  order_type           text NOT NULL CHECK (order_type IN ('new', 'change', 'terminate', 'relocate')),
  status               text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'in_progress', 'completed', 'cancelled', 'failed')),
  channel              text NOT NULL DEFAULT 'account_manager' CHECK (channel IN ('account_manager', 'hall', 'web', 'phone', 'api')),
  requested_by         bigint REFERENCES staff (id),
  workflow_id          text,
  currency             text NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
  one_off_total_minor  bigint NOT NULL DEFAULT 0 CHECK (one_off_total_minor >= 0),
  monthly_total_minor  bigint NOT NULL DEFAULT 0 CHECK (monthly_total_minor >= 0),
  notes                text CHECK (length(notes) <= 4000),
  submitted_at         timestamptz,
  completed_at         timestamptz,
  version              integer NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_account ON orders (account_id, created_at DESC);
CREATE INDEX orders_org_status ON orders (org_unit_id, status);
CREATE INDEX orders_workflow ON orders (workflow_id) WHERE workflow_id IS NOT NULL;

CREATE SEQUENCE subscriptions_seq;
CREATE TABLE subscriptions (
  id                  text PRIMARY KEY DEFAULT 'SB' || lpad(nextval('subscriptions_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  account_id          text NOT NULL REFERENCES key_accounts (id),
  org_unit_id         text NOT NULL REFERENCES org_units (id),
  product_id          text NOT NULL REFERENCES products (id),
  tariff_id           text NOT NULL REFERENCES tariffs (id),
  billing_account_id  text NOT NULL REFERENCES billing_accounts (id),
  order_id            text REFERENCES orders (id),
  -- What the network knows it by: a circuit id, a phone number, an IP block.
  service_number      text NOT NULL CHECK (length(service_number) BETWEEN 1 AND 64),
  quantity            integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
  status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'suspended', 'terminated')),
  activated_at        timestamptz,
  terminated_at       timestamptz,
  version             integer NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_account ON subscriptions (account_id);
CREATE INDEX subscriptions_billing_account ON subscriptions (billing_account_id);
CREATE UNIQUE INDEX subscriptions_live_service_number ON subscriptions (product_id, service_number) WHERE status <> 'terminated';

CREATE SEQUENCE order_items_seq;
CREATE TABLE order_items (
  id                 text PRIMARY KEY DEFAULT 'OI' || lpad(nextval('order_items_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  order_id           text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  org_unit_id        text NOT NULL REFERENCES org_units (id),
  line_no            integer NOT NULL CHECK (line_no >= 1),
  action             text NOT NULL CHECK (action IN ('add', 'modify', 'remove')),
  product_id         text NOT NULL REFERENCES products (id),
  tariff_id          text REFERENCES tariffs (id),
  subscription_id    text REFERENCES subscriptions (id),
  service_number     text CHECK (length(service_number) BETWEEN 1 AND 64),
  quantity           integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
  one_off_fee_minor  bigint NOT NULL DEFAULT 0 CHECK (one_off_fee_minor >= 0),
  monthly_fee_minor  bigint NOT NULL DEFAULT 0 CHECK (monthly_fee_minor >= 0),
  status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'provisioning', 'done', 'failed', 'cancelled')),
  version            integer NOT NULL DEFAULT 1,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  UNIQUE (order_id, line_no)
);

CREATE SEQUENCE trouble_tickets_seq;
CREATE TABLE trouble_tickets (
  id               text PRIMARY KEY DEFAULT 'TT' || lpad(nextval('trouble_tickets_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  account_id       text NOT NULL REFERENCES key_accounts (id),
  org_unit_id      text NOT NULL REFERENCES org_units (id),
  kind             text NOT NULL CHECK (kind IN ('complaint', 'fault')),
  channel          text NOT NULL CHECK (channel IN ('phone', 'web', 'email', 'wechat', 'visit', 'noc', 'sms')),
  category         text NOT NULL CHECK (length(category) BETWEEN 1 AND 100),
  severity         text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'low')),
  title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description      text CHECK (length(description) <= 8000),
  subscription_id  text REFERENCES subscriptions (id),
  contact_id       text REFERENCES contacts (id),
  status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'in_progress', 'resolved', 'closed', 'cancelled')),
  assignee         text,
  sla_due_at       timestamptz NOT NULL,
  resolved_at      timestamptz,
  closed_at        timestamptz,
  resolution       text CHECK (length(resolution) <= 8000),
  workflow_id      text,
  version          integer NOT NULL DEFAULT 1,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trouble_tickets_account ON trouble_tickets (account_id, created_at DESC);
CREATE INDEX trouble_tickets_open_by_org ON trouble_tickets (org_unit_id, sla_due_at) WHERE status NOT IN ('resolved', 'closed', 'cancelled');
CREATE INDEX trouble_tickets_workflow ON trouble_tickets (workflow_id) WHERE workflow_id IS NOT NULL;

-- A supervision ticket (督办工单) is issued by a higher unit to a lower one about a case (often a
-- trouble ticket or an order) and tracked until the lower unit replies and the issuer closes it.
CREATE SEQUENCE supervision_tickets_seq;
CREATE TABLE supervision_tickets (
  id                text PRIMARY KEY DEFAULT 'SV' || lpad(nextval('supervision_tickets_seq')::text, 8, '0') CHECK (id ~ '^[A-Z0-9][A-Z0-9-]{1,63}$'),
  org_unit_id       text NOT NULL REFERENCES org_units (id),
  issued_by_unit_id text NOT NULL REFERENCES org_units (id),
  issued_by         bigint REFERENCES staff (id),
  account_id        text REFERENCES key_accounts (id),
  trouble_ticket_id text REFERENCES trouble_tickets (id),
  order_id          text REFERENCES orders (id),
  title             text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description       text CHECK (length(description) <= 8000),
  severity          text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'low')),
  status            text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued', 'accepted', 'in_progress', 'replied', 'closed', 'cancelled')),
  due_at            timestamptz NOT NULL,
  reply             text CHECK (length(reply) <= 8000),
  replied_at        timestamptz,
  closed_at         timestamptz,
  workflow_id       text,
  version           integer NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX supervision_tickets_org_status ON supervision_tickets (org_unit_id, status, due_at);
CREATE INDEX supervision_tickets_account ON supervision_tickets (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX supervision_tickets_trouble_ticket ON supervision_tickets (trouble_ticket_id) WHERE trouble_ticket_id IS NOT NULL;

-- The audit trail per account: changes to an account and to its contacts, contracts, billing
-- accounts, … carry the account's id, so "everything that happened to account X" is one index scan.
ALTER TABLE audit_log ADD COLUMN account_id text;
CREATE INDEX audit_log_account ON audit_log (account_id, id DESC) WHERE account_id IS NOT NULL;
