-- Retention (客户挽留): one case per key account and period when its churn risk passed the
-- threshold, worked by processes/retention.bpmn (instance `retention:<account>-<period>`): the
-- customer manager contacts the customer and records the reason and a counter-offer, a supervisor
-- approves an offer above the limit, the outcome is recorded and fed back here.
CREATE TABLE retention_cases (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id           text NOT NULL REFERENCES key_accounts (id),
  org_unit_id          text NOT NULL REFERENCES org_units (id),
  period               text NOT NULL CHECK (period ~ '^\d{4}-(0[1-9]|1[0-2])$'),
  probability          numeric(6, 5) NOT NULL CHECK (probability BETWEEN 0 AND 1),
  threshold            numeric(6, 5) NOT NULL CHECK (threshold BETWEEN 0 AND 1),
  factors              jsonb NOT NULL DEFAULT '[]',
  workflow_id          text NOT NULL UNIQUE,
  customer_manager     text,
  status               text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'retained', 'lost')),
  reason               text CHECK (reason IN ('price', 'service', 'competitor', 'relocation', 'closure', 'other')),
  counter_offer_minor  bigint CHECK (counter_offer_minor >= 0),
  offer_approved       boolean,
  approved_by          text,
  note                 text CHECK (length(note) <= 2000),
  opened_by            text NOT NULL,
  opened_at            timestamptz NOT NULL DEFAULT now(),
  closed_at            timestamptz,
  UNIQUE (account_id, period)
);
CREATE INDEX retention_cases_org_status ON retention_cases (org_unit_id, status);
