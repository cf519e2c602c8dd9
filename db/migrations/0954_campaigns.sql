-- Care campaigns (亲情服务 / 营销短信): an SMS to a filtered segment of key accounts' contacts,
-- approved by a supervisor (processes/campaign.bpmn), sent at a limited rate, never to a contact who
-- opted out, every message in the ledger once.

ALTER TABLE contacts
  ADD COLUMN sms_opt_out      boolean NOT NULL DEFAULT false,
  ADD COLUMN sms_opted_out_at timestamptz;

CREATE TABLE campaigns (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  text               text NOT NULL CHECK (length(text) BETWEEN 1 AND 500),
  -- tiers, industries, orgUnitId, minChurnProbability (api/routes/campaigns.ts campaignSegment)
  segment            jsonb NOT NULL,
  org_unit_id        text NOT NULL REFERENCES org_units (id),
  rate_per_second    integer NOT NULL CHECK (rate_per_second BETWEEN 1 AND 100),
  status             text NOT NULL DEFAULT 'awaiting_approval' CHECK (status IN ('awaiting_approval', 'rejected', 'sending', 'sent')),
  workflow_id        text UNIQUE,
  created_by         text NOT NULL,
  decided_by         text,
  recipients         integer,
  skipped_opted_out  integer,
  sent               integer NOT NULL DEFAULT 0,
  failed             integer NOT NULL DEFAULT 0,
  created_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz
);

-- The ledger: one row per campaign and contact, written before the message goes, so a retried
-- send never sends twice (the gateway also takes the idempotency key).
CREATE TABLE campaign_messages (
  campaign_id  bigint NOT NULL REFERENCES campaigns (id),
  contact_id   text NOT NULL REFERENCES contacts (id),
  account_id   text NOT NULL REFERENCES key_accounts (id),
  phone        text NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  message_id   text,
  error        text,
  sent_at      timestamptz,
  PRIMARY KEY (campaign_id, contact_id)
);
