-- Deployed process definitions: immutable (key, version), identified by the sha256 of their XML, so
-- deploying the same XML again finds the existing version instead of making a new one.
CREATE TABLE process_definitions (
  key          text NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$'),
  version      integer NOT NULL CHECK (version > 0),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  name         text,
  xml          text NOT NULL,
  model        jsonb NOT NULL,
  deployed_by  text NOT NULL,
  deployed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, version),
  UNIQUE (key, sha256)
);

CREATE TRIGGER process_definitions_immutable BEFORE UPDATE OR DELETE ON process_definitions
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
