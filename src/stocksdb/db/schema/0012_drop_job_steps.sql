-- ingestion.job_steps (0001) was never written: runs record their counts, status and error in
-- job_runs, gate results in gate_results. An empty table that looks like an audit trail misleads
-- whoever queries it, so it goes.
DROP TABLE ingestion.job_steps;
