-- Every run ends (issue 9): 'interrupted' (SIGINT/SIGTERM, exit 130) and 'abandoned' (its
-- process is gone: its liveness advisory lock was free when the next run or `db status` looked).
ALTER TABLE ingestion.job_runs DROP CONSTRAINT job_runs_status_check;
ALTER TABLE ingestion.job_runs ADD CONSTRAINT job_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'refused', 'interrupted',
                      'abandoned'));
