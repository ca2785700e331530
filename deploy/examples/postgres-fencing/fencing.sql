-- Fencing by epoch for a workload run by failover-witness: a write carries the epoch its copy was
-- started with (WITNESS_EPOCH), and the database refuses it once it has seen a higher one. A copy
-- that resumes after its lease ran out (a paused VM) can then no longer overwrite the new one.
--
--   psql -v ON_ERROR_STOP=1 -f fencing.sql

CREATE TABLE IF NOT EXISTS fencing_highest_epoch (
  -- One row only: the lock every fenced write takes, which orders them all.
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  epoch bigint NOT NULL
);
INSERT INTO fencing_highest_epoch (epoch) VALUES (0) ON CONFLICT DO NOTHING;

-- Not rolled back with a refused write: every attempt that reached the lock gets a number, so a
-- refusal (only in the server log) and a stored write can be put in the order they were decided.
CREATE SEQUENCE IF NOT EXISTS fencing_attempt;

CREATE TABLE IF NOT EXISTS fenced_writes (
  attempt bigint PRIMARY KEY,
  epoch bigint NOT NULL,
  node text NOT NULL,
  sequence bigint NOT NULL,
  written_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE OR REPLACE FUNCTION fenced_write(write_epoch bigint, write_node text, write_sequence bigint)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  highest bigint;
  this_attempt bigint;
BEGIN
  SELECT epoch INTO STRICT highest FROM fencing_highest_epoch FOR UPDATE;
  this_attempt := nextval('fencing_attempt');
  IF write_epoch < highest THEN
    RAISE EXCEPTION 'fenced_write refused: node=% epoch=% sequence=% attempt=% highest=%',
      write_node, write_epoch, write_sequence, this_attempt, highest
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  UPDATE fencing_highest_epoch SET epoch = write_epoch WHERE write_epoch > highest;
  INSERT INTO fenced_writes (attempt, epoch, node, sequence)
    VALUES (this_attempt, write_epoch, write_node, write_sequence);
  RETURN this_attempt;
END;
$$;
