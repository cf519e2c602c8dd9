-- Analytics rollups (分析型 CRM): monthly figures per key account, per product of an account, per
-- trouble-ticket category of an account, and the same summed per org unit, for the reports under
-- /api/reports. Each table is partitioned by month (the first day of the month in the operator's
-- zone, Asia/Shanghai); a month's partitions are made the first time it is refreshed.
--
-- The rollups are kept fresh incrementally, not by a nightly scan: the steps that change the
-- sources — the bill run's issue, a payment, an order's and a ticket's steps — call
-- analytics_refresh(accounts, months) for the accounts and months they touched. A refresh
-- recomputes those (account, month) rows from the sources and the rows of every unit above them,
-- so it is idempotent: a retried or repeated step writes the same figures again. What a month's
-- row means:
--   revenue_minor  billed net revenue (after discounts, commitment top-ups and credits, before
--                  tax) of the month's issued bills; per product, the bill lines of that product,
--                  with the lines that belong to no product (discounts, one-offs, commitment,
--                  credits) under product '-', so the products add up to the account's revenue
--   billed_minor   what the month's issued bills ask for (total, tax included, plus debit and
--                  credit notes); paid_minor / outstanding_minor: paid against them and still owed
--   voice_seconds, data_bytes, sms_messages: accepted usage of the billing period
--   subscriptions_*: active at the month's end, activated and terminated in the month
--   orders_*, tickets: created (completed, resolved) in the month; a ticket's SLA counts in the
--                  month it was opened: met when resolved or closed without a breach, breached
--                  when the SLA clock ran out (sla_breached_at) or it was resolved after sla_due_at

CREATE FUNCTION analytics_month_of(at timestamptz) RETURNS date LANGUAGE sql STABLE AS $$
  SELECT date_trunc('month', at AT TIME ZONE 'Asia/Shanghai')::date
$$;

CREATE TABLE analytics_account_months (
  month                 date NOT NULL CHECK (extract(day FROM month) = 1),
  account_id            text NOT NULL,
  org_unit_id           text NOT NULL,
  org_path              text NOT NULL,
  customer_manager_id   bigint,
  currency              text NOT NULL,
  bills                 integer NOT NULL,
  charges_minor         bigint NOT NULL,
  discounts_minor       bigint NOT NULL,
  revenue_minor         bigint NOT NULL,
  tax_minor             bigint NOT NULL,
  billed_minor          bigint NOT NULL,
  paid_minor            bigint NOT NULL,
  outstanding_minor     bigint NOT NULL,
  voice_seconds         bigint NOT NULL,
  data_bytes            bigint NOT NULL,
  sms_messages          bigint NOT NULL,
  subscriptions_active  integer NOT NULL,
  subscriptions_new     integer NOT NULL,
  subscriptions_ended   integer NOT NULL,
  orders_created        integer NOT NULL,
  orders_completed      integer NOT NULL,
  complaints_opened     integer NOT NULL,
  faults_opened         integer NOT NULL,
  tickets_sla_met       integer NOT NULL,
  tickets_sla_breached  integer NOT NULL,
  tickets_reopened      integer NOT NULL,
  refreshed_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (month, account_id)
) PARTITION BY RANGE (month);
CREATE INDEX analytics_account_months_path ON analytics_account_months (month, org_path text_pattern_ops);
CREATE INDEX analytics_account_months_manager ON analytics_account_months (month, customer_manager_id);

CREATE TABLE analytics_product_months (
  month                 date NOT NULL CHECK (extract(day FROM month) = 1),
  account_id            text NOT NULL,
  product_id            text NOT NULL,
  org_path              text NOT NULL,
  revenue_minor         bigint NOT NULL,
  voice_seconds         bigint NOT NULL,
  data_bytes            bigint NOT NULL,
  sms_messages          bigint NOT NULL,
  subscriptions_active  integer NOT NULL,
  refreshed_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (month, account_id, product_id)
) PARTITION BY RANGE (month);

CREATE TABLE analytics_ticket_months (
  month                 date NOT NULL CHECK (extract(day FROM month) = 1),
  account_id            text NOT NULL,
  kind                  text NOT NULL,
  category              text NOT NULL,
  org_path              text NOT NULL,
  opened                integer NOT NULL,
  resolved              integer NOT NULL,
  sla_met               integer NOT NULL,
  sla_breached          integer NOT NULL,
  reopened              integer NOT NULL,
  refreshed_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (month, account_id, kind, category)
) PARTITION BY RANGE (month);
CREATE INDEX analytics_ticket_months_path ON analytics_ticket_months (month, org_path text_pattern_ops);

-- Per org unit: the sum over every account at or below the unit.
CREATE TABLE analytics_unit_months (
  month                 date NOT NULL CHECK (extract(day FROM month) = 1),
  org_unit_id           text NOT NULL,
  org_path              text NOT NULL,
  accounts              integer NOT NULL,
  bills                 integer NOT NULL,
  charges_minor         bigint NOT NULL,
  discounts_minor       bigint NOT NULL,
  revenue_minor         bigint NOT NULL,
  tax_minor             bigint NOT NULL,
  billed_minor          bigint NOT NULL,
  paid_minor            bigint NOT NULL,
  outstanding_minor     bigint NOT NULL,
  voice_seconds         bigint NOT NULL,
  data_bytes            bigint NOT NULL,
  sms_messages          bigint NOT NULL,
  subscriptions_active  integer NOT NULL,
  subscriptions_new     integer NOT NULL,
  subscriptions_ended   integer NOT NULL,
  orders_created        integer NOT NULL,
  orders_completed      integer NOT NULL,
  complaints_opened     integer NOT NULL,
  faults_opened         integer NOT NULL,
  tickets_sla_met       integer NOT NULL,
  tickets_sla_breached  integer NOT NULL,
  tickets_reopened      integer NOT NULL,
  refreshed_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (month, org_unit_id)
) PARTITION BY RANGE (month);

CREATE TABLE analytics_unit_product_months (
  month                 date NOT NULL CHECK (extract(day FROM month) = 1),
  org_unit_id           text NOT NULL,
  product_id            text NOT NULL,
  revenue_minor         bigint NOT NULL,
  voice_seconds         bigint NOT NULL,
  data_bytes            bigint NOT NULL,
  sms_messages          bigint NOT NULL,
  subscriptions_active  integer NOT NULL,
  refreshed_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (month, org_unit_id, product_id)
) PARTITION BY RANGE (month);

-- The refresh reads bills and orders by account and month.
CREATE INDEX bills_account_period ON bills (account_id, period);

/** Makes the month partitions of every rollup table for these months, once (under a lock). */
CREATE FUNCTION analytics_ensure_partitions(p_months date[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  m date;
  t text;
  part text;
BEGIN
  FOREACH m IN ARRAY p_months LOOP
    FOREACH t IN ARRAY ARRAY['analytics_account_months', 'analytics_product_months', 'analytics_ticket_months', 'analytics_unit_months', 'analytics_unit_product_months'] LOOP
      part := t || '_' || to_char(m, 'YYYYMM');
      IF to_regclass(part) IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('keyflow.analytics_partitions'));
        IF to_regclass(part) IS NULL THEN
          EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, t, m, (m + interval '1 month')::date);
        END IF;
      END IF;
    END LOOP;
  END LOOP;
END $$;

/**
 * Recomputes the rollups of these accounts for these months (any day of a month names the month)
 * from the sources, and the rows of every unit at or above the accounts' units (where they are now
 * and where their rows were). Returns the number of account-month rows written.
 */
CREATE FUNCTION analytics_refresh(p_accounts text[], p_months date[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  months date[];
  periods text[];
  paths text[];
  written integer;
BEGIN
  SELECT array_agg(DISTINCT date_trunc('month', m)::date) INTO months FROM unnest(p_months) m WHERE m IS NOT NULL;
  IF months IS NULL OR coalesce(cardinality(p_accounts), 0) = 0 THEN
    RETURN 0;
  END IF;
  SELECT array_agg(to_char(m, 'YYYY-MM')) INTO periods FROM unnest(months) m;
  PERFORM analytics_ensure_partitions(months);
  -- Two refreshes of the same accounts take turns, so the unit sums see each other's rows.
  PERFORM pg_advisory_xact_lock(hashtext('keyflow.analytics_refresh'));

  SELECT array_agg(DISTINCT p) INTO paths FROM (
    SELECT org_path AS p FROM key_accounts WHERE id = ANY (p_accounts)
    UNION SELECT org_path FROM analytics_account_months WHERE account_id = ANY (p_accounts) AND month = ANY (months)
  ) x;

  WITH pairs AS (
    SELECT a.id AS account_id, a.org_unit_id, a.org_path, a.customer_manager_id, a.currency, m AS month, to_char(m, 'YYYY-MM') AS period
      FROM key_accounts a CROSS JOIN unnest(months) m
     WHERE a.id = ANY (p_accounts)
  ), billed AS (
    SELECT account_id, period, count(*) AS bills, sum(charges_minor) AS charges, sum(discounts_minor) AS discounts, sum(net_minor) AS revenue,
           sum(tax_minor) AS tax, sum(total_minor + adjusted_minor) AS billed, sum(paid_minor) AS paid,
           sum(greatest(total_minor + adjusted_minor - paid_minor, 0)) AS outstanding
      FROM bills WHERE account_id = ANY (p_accounts) AND period = ANY (periods) AND status NOT IN ('new', 'onHold')
     GROUP BY account_id, period
  ), used AS (
    SELECT ba.account_id, u.period, sum(u.duration_sec) FILTER (WHERE u.usage_type = 'voice') AS voice, sum(u.volume_bytes) FILTER (WHERE u.usage_type = 'data') AS data,
           sum(u.messages) FILTER (WHERE u.usage_type = 'sms') AS sms
      FROM billing_accounts ba JOIN usage_records u ON u.billing_account_id = ba.id AND u.period = ANY (periods)
     WHERE ba.account_id = ANY (p_accounts)
     GROUP BY ba.account_id, u.period
  ), subs AS (
    SELECT p.account_id, p.month,
           count(*) FILTER (WHERE s.activated_at < (p.month + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'
                              AND (s.terminated_at IS NULL OR s.terminated_at >= (p.month + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai')) AS active,
           count(*) FILTER (WHERE analytics_month_of(s.activated_at) = p.month) AS new,
           count(*) FILTER (WHERE analytics_month_of(s.terminated_at) = p.month) AS ended
      FROM pairs p JOIN subscriptions s ON s.account_id = p.account_id
     GROUP BY p.account_id, p.month
  ), ordered AS (
    SELECT p.account_id, p.month,
           count(*) FILTER (WHERE analytics_month_of(o.created_at) = p.month) AS created,
           count(*) FILTER (WHERE o.status = 'completed' AND analytics_month_of(o.completed_at) = p.month) AS completed
      FROM pairs p JOIN orders o ON o.account_id = p.account_id
     GROUP BY p.account_id, p.month
  ), ticketed AS (
    SELECT p.account_id, p.month,
           count(*) FILTER (WHERE t.kind = 'complaint') AS complaints,
           count(*) FILTER (WHERE t.kind = 'fault') AS faults,
           count(*) FILTER (WHERE t.status IN ('resolved', 'closed') AND t.sla_breached_at IS NULL AND (t.resolved_at IS NULL OR t.resolved_at <= t.sla_due_at)) AS met,
           count(*) FILTER (WHERE t.sla_breached_at IS NOT NULL OR t.resolved_at > t.sla_due_at) AS breached,
           coalesce(sum(t.reopen_count), 0) AS reopened
      FROM pairs p JOIN trouble_tickets t ON t.account_id = p.account_id AND analytics_month_of(t.created_at) = p.month
     WHERE t.status NOT IN ('cancelled', 'rejected')
     GROUP BY p.account_id, p.month
  )
  INSERT INTO analytics_account_months AS r (month, account_id, org_unit_id, org_path, customer_manager_id, currency, bills, charges_minor, discounts_minor, revenue_minor,
                                             tax_minor, billed_minor, paid_minor, outstanding_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active,
                                             subscriptions_new, subscriptions_ended, orders_created, orders_completed, complaints_opened, faults_opened,
                                             tickets_sla_met, tickets_sla_breached, tickets_reopened, refreshed_at)
  SELECT p.month, p.account_id, p.org_unit_id, p.org_path, p.customer_manager_id, p.currency,
         coalesce(b.bills, 0), coalesce(b.charges, 0), coalesce(b.discounts, 0), coalesce(b.revenue, 0), coalesce(b.tax, 0), coalesce(b.billed, 0),
         coalesce(b.paid, 0), coalesce(b.outstanding, 0), coalesce(u.voice, 0), coalesce(u.data, 0), coalesce(u.sms, 0),
         coalesce(s.active, 0), coalesce(s.new, 0), coalesce(s.ended, 0), coalesce(o.created, 0), coalesce(o.completed, 0),
         coalesce(t.complaints, 0), coalesce(t.faults, 0), coalesce(t.met, 0), coalesce(t.breached, 0), coalesce(t.reopened, 0), now()
    FROM pairs p
    LEFT JOIN billed b ON b.account_id = p.account_id AND b.period = p.period
    LEFT JOIN used u ON u.account_id = p.account_id AND u.period = p.period
    LEFT JOIN subs s ON s.account_id = p.account_id AND s.month = p.month
    LEFT JOIN ordered o ON o.account_id = p.account_id AND o.month = p.month
    LEFT JOIN ticketed t ON t.account_id = p.account_id AND t.month = p.month
  ON CONFLICT (month, account_id) DO UPDATE SET
    org_unit_id = excluded.org_unit_id, org_path = excluded.org_path, customer_manager_id = excluded.customer_manager_id, currency = excluded.currency,
    bills = excluded.bills, charges_minor = excluded.charges_minor, discounts_minor = excluded.discounts_minor, revenue_minor = excluded.revenue_minor,
    tax_minor = excluded.tax_minor, billed_minor = excluded.billed_minor, paid_minor = excluded.paid_minor, outstanding_minor = excluded.outstanding_minor,
    voice_seconds = excluded.voice_seconds, data_bytes = excluded.data_bytes, sms_messages = excluded.sms_messages,
    subscriptions_active = excluded.subscriptions_active, subscriptions_new = excluded.subscriptions_new, subscriptions_ended = excluded.subscriptions_ended,
    orders_created = excluded.orders_created, orders_completed = excluded.orders_completed, complaints_opened = excluded.complaints_opened,
    faults_opened = excluded.faults_opened, tickets_sla_met = excluded.tickets_sla_met, tickets_sla_breached = excluded.tickets_sla_breached,
    tickets_reopened = excluded.tickets_reopened, refreshed_at = excluded.refreshed_at;
  GET DIAGNOSTICS written = ROW_COUNT;

  -- Per product: the bill lines and usage of each product, and '-' for lines of no product.
  DELETE FROM analytics_product_months WHERE account_id = ANY (p_accounts) AND month = ANY (months);
  INSERT INTO analytics_product_months (month, account_id, product_id, org_path, revenue_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active)
  SELECT x.month, x.account_id, x.product_id, a.org_path, sum(x.revenue), sum(x.voice), sum(x.data), sum(x.sms), sum(x.active)
    FROM (
      SELECT to_date(b.period, 'YYYY-MM') AS month, b.account_id, coalesce(l.product_id, '-') AS product_id, sum(l.amount_minor) AS revenue,
             0::bigint AS voice, 0::bigint AS data, 0::bigint AS sms, 0::bigint AS active
        FROM bills b JOIN bill_lines l ON l.bill_id = b.id
       WHERE b.account_id = ANY (p_accounts) AND b.period = ANY (periods) AND b.status NOT IN ('new', 'onHold') AND l.kind <> 'tax'
       GROUP BY 1, 2, 3
      UNION ALL
      SELECT to_date(u.period, 'YYYY-MM'), s.account_id, s.product_id, 0,
             coalesce(sum(u.duration_sec) FILTER (WHERE u.usage_type = 'voice'), 0), coalesce(sum(u.volume_bytes) FILTER (WHERE u.usage_type = 'data'), 0),
             coalesce(sum(u.messages) FILTER (WHERE u.usage_type = 'sms'), 0), 0
        FROM subscriptions s JOIN usage_records u ON u.subscription_id = s.id AND u.period = ANY (periods)
       WHERE s.account_id = ANY (p_accounts)
       GROUP BY 1, 2, 3
      UNION ALL
      SELECT m, s.account_id, s.product_id, 0, 0, 0, 0, count(*)
        FROM subscriptions s CROSS JOIN unnest(months) m
       WHERE s.account_id = ANY (p_accounts)
         AND s.activated_at < (m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'
         AND (s.terminated_at IS NULL OR s.terminated_at >= (m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai')
       GROUP BY 1, 2, 3
    ) x JOIN key_accounts a ON a.id = x.account_id
   GROUP BY x.month, x.account_id, x.product_id, a.org_path;

  DELETE FROM analytics_ticket_months WHERE account_id = ANY (p_accounts) AND month = ANY (months);
  INSERT INTO analytics_ticket_months (month, account_id, kind, category, org_path, opened, resolved, sla_met, sla_breached, reopened)
  SELECT analytics_month_of(t.created_at), t.account_id, t.kind, t.category, a.org_path, count(*),
         count(*) FILTER (WHERE t.status IN ('resolved', 'closed')),
         count(*) FILTER (WHERE t.status IN ('resolved', 'closed') AND t.sla_breached_at IS NULL AND (t.resolved_at IS NULL OR t.resolved_at <= t.sla_due_at)),
         count(*) FILTER (WHERE t.sla_breached_at IS NOT NULL OR t.resolved_at > t.sla_due_at),
         coalesce(sum(t.reopen_count), 0)
    FROM trouble_tickets t JOIN key_accounts a ON a.id = t.account_id
   WHERE t.account_id = ANY (p_accounts) AND analytics_month_of(t.created_at) = ANY (months) AND t.status NOT IN ('cancelled', 'rejected')
   GROUP BY 1, 2, 3, 4, 5;

  -- The units at or above the touched accounts, recomputed from their accounts' rows.
  INSERT INTO analytics_unit_months AS r (month, org_unit_id, org_path, accounts, bills, charges_minor, discounts_minor, revenue_minor, tax_minor, billed_minor,
                                          paid_minor, outstanding_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active, subscriptions_new,
                                          subscriptions_ended, orders_created, orders_completed, complaints_opened, faults_opened, tickets_sla_met,
                                          tickets_sla_breached, tickets_reopened, refreshed_at)
  SELECT m, o.id, o.path, count(a.account_id), coalesce(sum(a.bills), 0), coalesce(sum(a.charges_minor), 0), coalesce(sum(a.discounts_minor), 0),
         coalesce(sum(a.revenue_minor), 0), coalesce(sum(a.tax_minor), 0), coalesce(sum(a.billed_minor), 0), coalesce(sum(a.paid_minor), 0),
         coalesce(sum(a.outstanding_minor), 0), coalesce(sum(a.voice_seconds), 0), coalesce(sum(a.data_bytes), 0), coalesce(sum(a.sms_messages), 0),
         coalesce(sum(a.subscriptions_active), 0), coalesce(sum(a.subscriptions_new), 0), coalesce(sum(a.subscriptions_ended), 0),
         coalesce(sum(a.orders_created), 0), coalesce(sum(a.orders_completed), 0), coalesce(sum(a.complaints_opened), 0), coalesce(sum(a.faults_opened), 0),
         coalesce(sum(a.tickets_sla_met), 0), coalesce(sum(a.tickets_sla_breached), 0), coalesce(sum(a.tickets_reopened), 0), now()
    FROM org_units o CROSS JOIN unnest(months) m
    LEFT JOIN analytics_account_months a ON a.month = m AND a.org_path LIKE o.path || '%'
   WHERE EXISTS (SELECT 1 FROM unnest(paths) p WHERE p LIKE o.path || '%')
   GROUP BY m, o.id, o.path
  ON CONFLICT (month, org_unit_id) DO UPDATE SET
    org_path = excluded.org_path, accounts = excluded.accounts, bills = excluded.bills, charges_minor = excluded.charges_minor,
    discounts_minor = excluded.discounts_minor, revenue_minor = excluded.revenue_minor, tax_minor = excluded.tax_minor, billed_minor = excluded.billed_minor,
    paid_minor = excluded.paid_minor, outstanding_minor = excluded.outstanding_minor, voice_seconds = excluded.voice_seconds, data_bytes = excluded.data_bytes,
    sms_messages = excluded.sms_messages, subscriptions_active = excluded.subscriptions_active, subscriptions_new = excluded.subscriptions_new,
    subscriptions_ended = excluded.subscriptions_ended, orders_created = excluded.orders_created, orders_completed = excluded.orders_completed,
    complaints_opened = excluded.complaints_opened, faults_opened = excluded.faults_opened, tickets_sla_met = excluded.tickets_sla_met,
    tickets_sla_breached = excluded.tickets_sla_breached, tickets_reopened = excluded.tickets_reopened, refreshed_at = excluded.refreshed_at;

  DELETE FROM analytics_unit_product_months r USING org_units o
   WHERE r.org_unit_id = o.id AND r.month = ANY (months) AND EXISTS (SELECT 1 FROM unnest(paths) p WHERE p LIKE o.path || '%');
  INSERT INTO analytics_unit_product_months (month, org_unit_id, product_id, revenue_minor, voice_seconds, data_bytes, sms_messages, subscriptions_active)
  SELECT a.month, o.id, a.product_id, sum(a.revenue_minor), sum(a.voice_seconds), sum(a.data_bytes), sum(a.sms_messages), sum(a.subscriptions_active)
    FROM org_units o JOIN analytics_product_months a ON a.month = ANY (months) AND a.org_path LIKE o.path || '%'
   WHERE EXISTS (SELECT 1 FROM unnest(paths) p WHERE p LIKE o.path || '%')
   GROUP BY a.month, o.id, a.product_id;

  RETURN written;
END $$;
