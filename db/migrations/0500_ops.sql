-- Ops batch operations: one row per batch (what, over which filter, how fast, by whom, why) and one
-- per target instance with its own result, so a batch over thousands of instances can be followed,
-- resumed and audited instance by instance. The batch itself runs as a Temporal workflow
-- (`opsBatch`); these rows are what it reports into.
CREATE TABLE ops_batches (
  id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9._:-]{1,100}$'),
  action           text NOT NULL CHECK (action IN ('retry', 'skip', 'cancel', 'terminate', 'reset', 'move', 'migrate')),
  filter           jsonb NOT NULL,
  params           jsonb NOT NULL DEFAULT '{}',
  rate_per_second  integer NOT NULL CHECK (rate_per_second BETWEEN 1 AND 1000),
  reason           text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  actor            text NOT NULL,
  request_id       text,
  status           text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  total            integer NOT NULL CHECK (total >= 0),
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX ops_batches_created ON ops_batches (created_at DESC);

CREATE TABLE ops_batch_items (
  batch_id     text NOT NULL REFERENCES ops_batches (id),
  workflow_id  text NOT NULL,
  position     integer NOT NULL CHECK (position >= 0),
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped')),
  -- The incident the action targeted (retry/skip), when the instance had one.
  incident_id  text,
  error_code   text,
  message      text,
  attempted_at timestamptz,
  PRIMARY KEY (batch_id, workflow_id)
);
CREATE INDEX ops_batch_items_position ON ops_batch_items (batch_id, position);
CREATE INDEX ops_batch_items_status ON ops_batch_items (batch_id, status);
