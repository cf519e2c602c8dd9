-- Churn risk (流失预警): when an account left (the label the model learns from), the fitted models
-- (logistic regression, activities/analytics/churn-model.ts) and each account's monthly risk with
-- its top factors. Features and how they are read are in db/churn.ts and docs/analytics.md.

-- An account's departure: the day its last service ended. Written by the seed's synthetic history
-- (db/seed/churn.ts) and by whoever ends an account's business; one per account.
CREATE TABLE account_departures (
  account_id  text PRIMARY KEY REFERENCES key_accounts (id),
  left_on     date NOT NULL,
  reason      text CHECK (length(reason) <= 500),
  source      text NOT NULL CHECK (source IN ('seed', 'order', 'manual')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE churn_models (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  observed_month  date NOT NULL CHECK (extract(day FROM observed_month) = 1),
  horizon_months  smallint NOT NULL CHECK (horizon_months BETWEEN 1 AND 12),
  -- features, means, sds, intercept, coefficients (ChurnModel)
  model           jsonb NOT NULL,
  -- held-out AUC, top-decile precision, set sizes
  metrics         jsonb NOT NULL,
  trained_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE churn_scores (
  month        date NOT NULL CHECK (extract(day FROM month) = 1),
  account_id   text NOT NULL REFERENCES key_accounts (id),
  org_path     text NOT NULL,
  model_id     bigint NOT NULL REFERENCES churn_models (id),
  probability  numeric(6, 5) NOT NULL CHECK (probability BETWEEN 0 AND 1),
  -- the features' values and contributions to the log-odds, largest first
  factors      jsonb NOT NULL,
  computed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, month)
);
CREATE INDEX churn_scores_month_risk ON churn_scores (month, probability DESC);
