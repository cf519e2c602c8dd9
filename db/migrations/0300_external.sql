-- External systems (sim/README.md): which process instance waits for what a partner will call back
-- about, and what the callbacks into Keyflow did, so a duplicate or a replay has no second effect.

-- One row per (thing a partner will report on, instance waiting for it): an activation's
-- idempotency key, a payment reference, a service whose alarms an instance watches. Written by the
-- activity before it calls the partner, so even an immediate callback finds its instance.
CREATE TABLE external_correlations (
  system           text NOT NULL CHECK (system IN ('provisioning', 'bank', 'alarms')),
  correlation_id   text NOT NULL CHECK (length(correlation_id) BETWEEN 1 AND 300),
  workflow_id      text NOT NULL,
  idempotency_key  text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  closed_at        timestamptz,
  PRIMARY KEY (system, correlation_id, workflow_id)
);
CREATE INDEX external_correlations_workflow ON external_correlations (workflow_id);

-- One row per callback event accepted (by the partner's event id): a redelivery finds it and
-- changes nothing. `ordering_key` + `sequence` order the events about one thing; an event not
-- newer than one already taken is 'stale' (an out-of-order or re-issued event), kept but not delivered.
CREATE TABLE callback_receipts (
  system          text NOT NULL CHECK (system IN ('provisioning', 'bank', 'alarms')),
  event_id        text NOT NULL,
  correlation_id  text NOT NULL,
  ordering_key    text NOT NULL,
  sequence        integer NOT NULL CHECK (sequence >= 1),
  outcome         text NOT NULL CHECK (outcome IN ('delivered', 'recorded', 'stale')),
  message_name    text,
  workflow_ids    text[] NOT NULL DEFAULT '{}',
  payload         jsonb NOT NULL,
  request_id      text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, event_id)
);
CREATE INDEX callback_receipts_ordering ON callback_receipts (system, ordering_key, sequence DESC) WHERE outcome <> 'stale';
CREATE INDEX callback_receipts_correlation ON callback_receipts (system, correlation_id);

-- Nonces of signed callbacks seen inside the replay window: the same signed request twice is a
-- replay (401). Rows older than the window are useless (the timestamp check refuses them) and pruned.
CREATE TABLE callback_nonces (
  system       text NOT NULL,
  nonce        text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, nonce)
);
CREATE INDEX callback_nonces_received ON callback_nonces (received_at);
