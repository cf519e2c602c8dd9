-- The account list sends each account's summary as JSON. Writing that JSON per row (row_to_json)
-- cost PostgreSQL 2.4 µs a row, six times reading the row from the index, and Node then parsed the
-- page apart to splice in the unit's and manager's names. Now each account keeps its summary,
-- names included, already written; the list indexes carry it, and a page is the summaries of the
-- rows the index walk finds, joined with commas.

-- The names the summary shows, kept on the account by triggers, as its unit's path is (0101).
ALTER TABLE key_accounts ADD COLUMN org_unit_name text, ADD COLUMN customer_manager_name text;
UPDATE key_accounts a SET org_unit_name = o.name FROM org_units o WHERE o.id = a.org_unit_id;
UPDATE key_accounts a SET customer_manager_name = s.display_name FROM staff s WHERE s.id = a.customer_manager_id;
ALTER TABLE key_accounts ALTER COLUMN org_unit_name SET NOT NULL;

-- Whatever a statement writes into the copies, they end up as the unit and the manager say.
CREATE FUNCTION key_accounts_take_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT name INTO NEW.org_unit_name FROM org_units WHERE id = NEW.org_unit_id;
  IF NEW.customer_manager_id IS NULL THEN
    NEW.customer_manager_name := NULL;
  ELSE
    SELECT display_name INTO NEW.customer_manager_name FROM staff WHERE id = NEW.customer_manager_id;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER key_accounts_names
  BEFORE INSERT OR UPDATE OF org_unit_id, customer_manager_id, org_unit_name, customer_manager_name ON key_accounts
  FOR EACH ROW EXECUTE FUNCTION key_accounts_take_names();

-- A rename reaches the unit's or the manager's accounts in the same transaction. Units and staff
-- referenced by an account cannot be deleted (the foreign keys), so renames are all there is.
CREATE FUNCTION org_units_pass_name_to_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE key_accounts SET org_unit_name = NEW.name WHERE org_unit_id = NEW.id;
  RETURN NULL;
END $$;

CREATE TRIGGER org_units_name_to_accounts
  AFTER UPDATE OF name ON org_units
  FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION org_units_pass_name_to_accounts();

CREATE FUNCTION staff_pass_name_to_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE key_accounts SET customer_manager_name = NEW.display_name WHERE customer_manager_id = NEW.id;
  RETURN NULL;
END $$;

CREATE TRIGGER staff_name_to_accounts
  AFTER UPDATE OF display_name ON staff
  FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name) EXECUTE FUNCTION staff_pass_name_to_accounts();

-- The API's directory (db/directory.ts) now holds units' paths only; staff changes need not reach it.
DROP TRIGGER staff_directory_changed ON staff;

-- The summary: the keys of `keyAccountSummary` (db/crm/accounts.ts), in its order.
CREATE TYPE key_account_summary AS (
  id text,
  name text,
  "registrationNo" text,
  industry text,
  tier text,
  "creditList" text,
  status text,
  "customerManagerId" bigint,
  "customerManagerName" text,
  "orgUnitId" text,
  "orgUnitName" text,
  version integer,
  "updatedAt" text
);

-- IMMUTABLE, as a generated column requires: every input is a column of the row, text and integers
-- print alike under any setting, and the instant is printed in UTC with a fixed pattern (no
-- locale-dependent TM fields).
CREATE FUNCTION key_account_summary_json(
  id text, name text, registration_no text, industry text, tier text, credit_list text, status text,
  customer_manager_id bigint, customer_manager_name text, org_unit_id text, org_unit_name text, version integer, updated_at timestamptz
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT row_to_json(ROW(id, name, registration_no, industry, tier, credit_list, status, customer_manager_id, customer_manager_name,
    org_unit_id, org_unit_name, version, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::key_account_summary)::text
$$;

ALTER TABLE key_accounts ADD COLUMN summary_json text NOT NULL GENERATED ALWAYS AS (key_account_summary_json(
  id, name, registration_no, industry, tier, credit_list, status, customer_manager_id, customer_manager_name,
  org_unit_id, org_unit_name, version, updated_at)) STORED;

-- The summary replaces the columns the indexes carried only to be shown (version, updated_at).
DROP INDEX key_accounts_name_id, key_accounts_city_name, key_accounts_county_name, key_accounts_area_name;
CREATE INDEX key_accounts_name_id ON key_accounts (name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, name_folded, summary_json);
CREATE INDEX key_accounts_city_name ON key_accounts (city_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, name_folded, summary_json);
CREATE INDEX key_accounts_county_name ON key_accounts (county_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, name_folded, summary_json);
CREATE INDEX key_accounts_area_name ON key_accounts (area_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, name_folded, summary_json);
-- A customer manager's own accounts ("mine"): walked in name order from the manager's first entry,
-- instead of the whole province's name index filtered down to one manager's rows (7,000 entries
-- read for 50, measured on the 10,000-account seed). It also serves what the plain manager index
-- did: the foreign key's checks and the rename trigger above.
DROP INDEX key_accounts_manager;
CREATE INDEX key_accounts_manager_name ON key_accounts (customer_manager_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, registration_no, name_folded, summary_json);
