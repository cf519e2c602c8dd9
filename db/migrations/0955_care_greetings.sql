-- Care (亲情服务): birthday and anniversary greetings for key contacts. A contact's birthday (its
-- month and day) and the anniversary of their relationship with the operator; the daily care
-- process (processes/care-greetings.bpmn) greets each key contact once a year per occasion, in the
-- ledger below, never one who opted out of SMS.
ALTER TABLE contacts
  ADD COLUMN birthday     date,
  ADD COLUMN anniversary  date;

CREATE TABLE care_greetings (
  contact_id   text NOT NULL REFERENCES contacts (id),
  occasion     text NOT NULL CHECK (occasion IN ('birthday', 'anniversary')),
  year         smallint NOT NULL CHECK (year BETWEEN 2000 AND 2200),
  account_id   text NOT NULL REFERENCES key_accounts (id),
  phone        text NOT NULL,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  message_id   text,
  sent_at      timestamptz,
  PRIMARY KEY (contact_id, occasion, year)
);
