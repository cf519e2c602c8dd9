-- Login throttling by key: `user:<lower-case username>` (whether or not such staff exists, so an
-- unknown username is answered exactly like a known one) and `addr:<client address>` (password
-- spraying across usernames from one address). Every attempt is counted before its password is
-- hashed, in one statement, so parallel guesses cannot slip past the limit; a success forgets
-- the username's count.
CREATE TABLE login_throttle (
  key          text PRIMARY KEY CHECK (length(key) BETWEEN 6 AND 200),
  failures     integer NOT NULL CHECK (failures >= 0),
  locked_until timestamptz,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The staff row's own counters gave way to the table.
ALTER TABLE staff DROP COLUMN failed_logins;
ALTER TABLE staff DROP COLUMN locked_until;
