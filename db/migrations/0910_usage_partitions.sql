-- The two tables that take a row per usage record, usage_records and rated_usage, are partitioned by
-- billing period (LIST on `period`, one partition per month: usage_records_2025_03,
-- rated_usage_2025_03). A month of usage is then created, rated, archived (DETACH PARTITION) or
-- dropped as a unit, its indexes cover that month only, and every statement of a bill run names
-- its period, so PostgreSQL reads one partition (partition pruning).
--
-- Partitions are made by ensure_usage_partition(period), which collection calls for the periods it
-- writes and the bill run for its own. A row of a period without a partition yet lands in the
-- DEFAULT partition instead of failing its load; ensure_usage_partition moves such rows into the
-- period's new partition before attaching it. Tables and their rows are converted in place: the
-- existing rows keep their ids.
--
-- Uniqueness now holds per period (a unique index on a partitioned table must hold the partition
-- key): (source, record_id, period) and (content_hash, period). The same content always guides to
-- the same period (the period is a function of the record's instant, its subscriber and the
-- account's zone and cycle day), so a re-sent record is still refused by the insert that would have
-- made it rateable; a record id that a mediation system reuses in another month is accepted there.

DROP VIEW usage_record_states;

-- usage_records ----------------------------------------------------------------------------------
ALTER TABLE usage_records RENAME TO usage_records_0900;

-- Identity columns on partitioned tables need PostgreSQL 17: a plain sequence does the same here.
CREATE SEQUENCE usage_record_ids AS bigint;

CREATE TABLE usage_records (
  id                  bigint NOT NULL DEFAULT nextval('usage_record_ids'),
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
  entry_state         text NOT NULL DEFAULT 'guided' CHECK (entry_state IN ('guided', 'recycled')),
  received_at         timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (period);
ALTER SEQUENCE usage_record_ids OWNED BY usage_records.id;
CREATE TABLE usage_records_default PARTITION OF usage_records DEFAULT;

-- rated_usage ------------------------------------------------------------------------------------
ALTER TABLE rated_usage RENAME TO rated_usage_0900;

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
  rated_at            timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (period);
CREATE TABLE rated_usage_default PARTITION OF rated_usage DEFAULT;

-- The partition of one period for both tables, made once (concurrent callers wait for each other
-- on an advisory lock). The new table is filled from the default partition and only then attached:
-- ATTACH takes a SHARE UPDATE EXCLUSIVE lock on the parent, which concurrent loads (ROW EXCLUSIVE)
-- do not conflict with, where CREATE TABLE … PARTITION OF would wait for every open load; it does
-- wait for a load that wrote into the default partition (it locks that one exclusively to check
-- it). Call it in a transaction of its own, never inside a load.
CREATE FUNCTION ensure_usage_partition(p text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  parent text;
  part text;
BEGIN
  IF p IS NULL OR p !~ '^\d{4}-(0[1-9]|1[0-2])$' THEN
    RAISE EXCEPTION 'not a billing period: %', p USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOREACH parent IN ARRAY ARRAY['usage_records', 'rated_usage'] LOOP
    part := parent || '_' || replace(p, '-', '_');
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    PERFORM pg_advisory_xact_lock(hashtext('keyflow.usage_partition'), hashtext(part));
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, parent);
    -- Proves the partition bound, so ATTACH does not scan the new table for it.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (period = %L)', part, part || '_bound', p);
    EXECUTE format('WITH moved AS (DELETE FROM %I WHERE period = %L RETURNING *) INSERT INTO %I SELECT * FROM moved', parent || '_default', p, part);
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)', parent, part, p);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_bound');
  END LOOP;
END $$;

-- Fresh statistics of one period's partition. A bill run loads a month into a new partition and
-- reads it moments later, before autovacuum has looked at it: without statistics the planner
-- guessed a nested loop over a million rows for the conservation check.
CREATE FUNCTION analyze_usage_partition(parent text, p text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF parent NOT IN ('usage_records', 'rated_usage') OR p IS NULL OR p !~ '^\d{4}-(0[1-9]|1[0-2])$' THEN
    RAISE EXCEPTION 'not a usage partition: % %', parent, p USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF to_regclass(parent || '_' || replace(p, '-', '_')) IS NOT NULL THEN
    EXECUTE format('ANALYZE %I', parent || '_' || replace(p, '-', '_'));
  END IF;
END $$;

-- Existing rows, period by period, then the indexes (built once over the loaded partitions, which
-- is cheaper than maintaining them row by row).
DO $$
DECLARE
  p text;
BEGIN
  FOR p IN SELECT DISTINCT period FROM usage_records_0900 UNION SELECT DISTINCT period FROM rated_usage_0900 LOOP
    PERFORM ensure_usage_partition(p);
  END LOOP;
END $$;

INSERT INTO usage_records (id, source, record_id, content_hash, file_id, line_no, usage_type, service_number, subscription_id, billing_account_id,
                           org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination, entry_state, received_at)
SELECT id, source, record_id, content_hash, file_id, line_no, usage_type, service_number, subscription_id, billing_account_id,
       org_unit_id, period, started_at, duration_sec, volume_bytes, messages, destination, entry_state, received_at
  FROM usage_records_0900;
SELECT setval('usage_record_ids', coalesce((SELECT max(id) FROM usage_records_0900), 0) + 1, false);

INSERT INTO rated_usage (usage_record_id, rating_no, billing_account_id, period, bill_id, tariff_id, category, units, free_units, bundle_id, charge_sub, state, rated_at)
SELECT usage_record_id, rating_no, billing_account_id, period, bill_id, tariff_id, category, units, free_units, bundle_id, charge_sub, state, rated_at
  FROM rated_usage_0900;

DROP TABLE usage_records_0900;
DROP TABLE rated_usage_0900;

-- Per partition, these are the indexes 0400 had (period dropped where it is constant in a partition).
ALTER TABLE usage_records ADD CONSTRAINT usage_records_pkey PRIMARY KEY (id, period);
ALTER TABLE usage_records ADD CONSTRAINT usage_records_source_record_id_key UNIQUE (source, record_id, period);
ALTER TABLE usage_records ADD CONSTRAINT usage_records_content_hash_key UNIQUE (content_hash, period);
CREATE INDEX usage_records_account_started ON usage_records (billing_account_id, started_at);

ALTER TABLE rated_usage ADD CONSTRAINT rated_usage_pkey PRIMARY KEY (usage_record_id, rating_no, period);
CREATE INDEX rated_usage_bill ON rated_usage (bill_id);

-- As in 0400, with the rating found in the record's own period.
CREATE VIEW usage_record_states AS
SELECT u.id AS usage_record_id, u.source, u.record_id, u.billing_account_id, u.org_unit_id, u.period,
  CASE
    WHEN r.usage_record_id IS NULL THEN u.entry_state
    WHEN b.status IN ('validated', 'sent', 'partiallyPaid', 'settled') AND r.rating_no = 1 THEN 'billed'
    ELSE r.state
  END AS state,
  r.rating_no, r.charge_sub, r.bill_id
FROM usage_records u
LEFT JOIN rated_usage r ON r.usage_record_id = u.id AND r.period = u.period AND r.state <> 'reversed'
LEFT JOIN bills b ON b.id = r.bill_id
UNION ALL
SELECT NULL, j.source, j.record_id, j.billing_account_id, j.org_unit_id, NULL,
  CASE j.status WHEN 'open' THEN 'rejected' WHEN 'resubmitted' THEN 'recycled' ELSE 'rejected' END,
  NULL, NULL, NULL
FROM usage_rejections j;
