-- How long each node of a process took, one row per node execution of a closed instance, read
-- from its Temporal history once by the node-statistics collector (ops/node-stats.ts). The process
-- page's heat map asks this table for average and p95 per node over a window, so no page view reads
-- a history. A row is keyed by the execution it came from, so collecting an instance twice adds nothing.
CREATE TABLE node_executions (
  workflow_id      text NOT NULL,
  run_id           text NOT NULL,
  node_id          text NOT NULL,
  started_at       timestamptz NOT NULL,
  process_key      text NOT NULL,
  process_version  integer NOT NULL CHECK (process_version >= 1),
  completed_at     timestamptz NOT NULL,
  duration_ms      bigint NOT NULL CHECK (duration_ms >= 0),
  PRIMARY KEY (workflow_id, run_id, node_id, started_at)
);
-- The heat map's one query: a process version's executions completed in a window, per node.
CREATE INDEX node_executions_window ON node_executions (process_key, process_version, completed_at) INCLUDE (node_id, duration_ms);

-- Where the collector stands: instances closed before `collected_until` have been read.
CREATE TABLE node_stats_collector (
  id               text PRIMARY KEY CHECK (id = 'default'),
  collected_until  timestamptz NOT NULL
);
