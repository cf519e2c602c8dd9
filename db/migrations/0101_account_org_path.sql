-- The account list is the busiest read of the API; every list is limited to the caller's org
-- subtree and sorted by name. Joining org_units row by row to test the unit's path cost thousands
-- of buffer visits for a county manager: the walk in name order passed every other county's
-- accounts first (names start with the city, so a city's accounts even cluster together).
-- The account now carries its unit's path, kept by triggers, and the ids of the city, county and
-- area above it, so a list scoped to any unit walks an index of that unit's accounts in name order.

ALTER TABLE key_accounts ADD COLUMN org_path text;
UPDATE key_accounts a SET org_path = o.path FROM org_units o WHERE o.id = a.org_unit_id;
ALTER TABLE key_accounts ALTER COLUMN org_path SET NOT NULL;

CREATE FUNCTION key_accounts_take_org_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT path INTO NEW.org_path FROM org_units WHERE id = NEW.org_unit_id;
  RETURN NEW;
END $$;

CREATE TRIGGER key_accounts_org_path
  BEFORE INSERT OR UPDATE OF org_unit_id, org_path ON key_accounts
  FOR EACH ROW EXECUTE FUNCTION key_accounts_take_org_path();

-- Units do not move today; if one ever does, its accounts follow.
CREATE FUNCTION org_units_pass_path_to_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE key_accounts SET org_path = o.path FROM org_units o
  WHERE o.id = key_accounts.org_unit_id AND o.path LIKE NEW.path || '%' AND key_accounts.org_path IS DISTINCT FROM o.path;
  RETURN NULL;
END $$;

CREATE TRIGGER org_units_path_to_accounts
  AFTER UPDATE OF path ON org_units
  FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION org_units_pass_path_to_accounts();

-- Paths are '/province/city/county/area/' (org_units.level), so the units above are path segments.
ALTER TABLE key_accounts
  ADD COLUMN city_unit_id text GENERATED ALWAYS AS (nullif(split_part(org_path, '/', 3), '')) STORED,
  ADD COLUMN county_unit_id text GENERATED ALWAYS AS (nullif(split_part(org_path, '/', 4), '')) STORED,
  ADD COLUMN area_unit_id text GENERATED ALWAYS AS (nullif(split_part(org_path, '/', 5), '')) STORED;

-- Each list index walks accounts in name order and tests the filters on the index entry alone
-- (an index-only scan): no heap visit for a row that is then thrown away. The province (the
-- whole tree) walks the plain name index.
DROP INDEX key_accounts_name_id;
CREATE INDEX key_accounts_name_id ON key_accounts (name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no);
CREATE INDEX key_accounts_city_name ON key_accounts (city_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no);
CREATE INDEX key_accounts_county_name ON key_accounts (county_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no);
CREATE INDEX key_accounts_area_name ON key_accounts (area_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no);
