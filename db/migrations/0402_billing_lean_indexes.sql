-- rated_usage takes a row per record per rating (a million a month and more): every index on it
-- is paid on each of those inserts. Reratings find an account's ratings through its bill
-- (rated_usage_bill), so the account/period index earns nothing.
DROP INDEX rated_usage_account_period;
