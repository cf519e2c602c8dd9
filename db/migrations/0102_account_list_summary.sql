-- The account list shows a summary of each account (db/crm/accounts.ts `keyAccountSummary`). The
-- list indexes now carry every column of it, so a page is an index-only scan: filters are tested
-- on the index entry, and no heap page is read, neither for the rows shown nor for the ones a
-- filter throws away (with a plain index scan PostgreSQL reads the heap row before filtering).
DROP INDEX key_accounts_name_id, key_accounts_city_name, key_accounts_county_name, key_accounts_area_name;
CREATE INDEX key_accounts_name_id ON key_accounts (name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, org_unit_id, version, updated_at);
CREATE INDEX key_accounts_city_name ON key_accounts (city_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, org_unit_id, version, updated_at);
CREATE INDEX key_accounts_county_name ON key_accounts (county_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, org_unit_id, version, updated_at);
CREATE INDEX key_accounts_area_name ON key_accounts (area_unit_id, name, id)
  INCLUDE (org_path, tier, status, credit_list, industry, customer_manager_id, registration_no, org_unit_id, version, updated_at);

-- The names of units and staff, and units' paths, are cached by each API process (db/directory.ts)
-- rather than joined into every page: planning that join cost PostgreSQL more than running the
-- whole list. A change to any of them tells every process to drop its cache.
CREATE FUNCTION notify_directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('keyflow_directory', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE TRIGGER org_units_directory_changed
  AFTER UPDATE OF name, path OR DELETE OR TRUNCATE ON org_units
  FOR EACH STATEMENT EXECUTE FUNCTION notify_directory_changed();
CREATE TRIGGER staff_directory_changed
  AFTER UPDATE OF display_name OR DELETE OR TRUNCATE ON staff
  FOR EACH STATEMENT EXECUTE FUNCTION notify_directory_changed();
