-- Customer value (客户价值): a score per key account and month from six factors, each scored 0..1
-- against the `full_at` of its row here, weighted by `weight` (an admin changes both through
-- PUT /api/reports/value-weights). score = 100 × Σ weight·factor score / Σ weight. The formulas are
-- in db/customer-value.ts and docs/analytics.md; the suggested tier (gold ≥ 70, silver ≥ 40, else
-- bronze) stands beside the hand-set key_accounts.tier, which it never changes.

CREATE TABLE customer_value_weights (
  factor       text PRIMARY KEY CHECK (factor IN ('revenue', 'margin', 'growth', 'payment', 'tenure', 'breadth')),
  weight       numeric(8, 3) NOT NULL CHECK (weight >= 0 AND weight <= 1000),
  full_at      numeric(14, 3) NOT NULL CHECK (full_at > 0),
  description  text NOT NULL,
  version      integer NOT NULL DEFAULT 1,
  updated_by   text NOT NULL DEFAULT 'migration',
  updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customer_value_weights (factor, weight, full_at, description) VALUES
  ('revenue', 30, 120000, 'net billed revenue of the last 12 months, in major units; full marks at full_at'),
  ('margin', 20, 0.30, 'what discounts took of the charges over the last 12 months; full marks at none, zero at full_at (a share)'),
  ('growth', 15, 0.50, 'revenue of the last 3 months against the same 3 months a year before; 0.5 at no change, full marks at +full_at, zero at -full_at'),
  ('payment', 15, 1, 'share of the bills due in the last 12 months that were settled by their due date; 0.5 without any'),
  ('tenure', 10, 5, 'years since the first subscription was activated; full marks at full_at years'),
  ('breadth', 10, 4, 'product categories with an active subscription at the month''s end; full marks at full_at');

CREATE TABLE customer_value_scores (
  month           date NOT NULL CHECK (extract(day FROM month) = 1),
  account_id      text NOT NULL REFERENCES key_accounts (id),
  org_path        text NOT NULL,
  score           numeric(5, 2) NOT NULL CHECK (score BETWEEN 0 AND 100),
  suggested_tier  text NOT NULL CHECK (suggested_tier IN ('gold', 'silver', 'bronze')),
  -- Per factor: its value, its 0..1 score, the weight used and its points in the score.
  factors         jsonb NOT NULL,
  computed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, month)
);
CREATE INDEX customer_value_scores_month ON customer_value_scores (month, org_path text_pattern_ops);
