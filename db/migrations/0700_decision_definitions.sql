-- Deployed decisions (DMN): immutable (key, version) like process definitions. One DMN document
-- deploys each of its decisions as a version of that decision's key, all identified by the
-- sha256 of the document, so deploying the same document again finds those versions.
-- `model` is the decision's graph (the decision and every decision it requires), the JSON that a
-- business rule task pins in its process model.
CREATE TABLE decision_definitions (
  key             text NOT NULL CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_.-]{0,127}$'),
  version         integer NOT NULL CHECK (version > 0),
  sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  name            text,
  definitions_id  text NOT NULL,
  xml             text NOT NULL,
  model           jsonb NOT NULL,
  deployed_by     text NOT NULL,
  deployed_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (key, version),
  UNIQUE (key, sha256)
);

CREATE TRIGGER decision_definitions_immutable BEFORE UPDATE OR DELETE ON decision_definitions
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
