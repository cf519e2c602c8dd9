-- The designer's version note: why this version was deployed ("adds the SLA reminder"), shown in
-- the version history beside who deployed it and when. Part of the immutable row.
ALTER TABLE process_definitions ADD COLUMN note text CHECK (note IS NULL OR length(note) <= 1000);
