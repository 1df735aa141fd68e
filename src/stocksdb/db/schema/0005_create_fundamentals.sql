-- Quarterly fundamentals: raw filing payloads, derived values, and YoY.
CREATE TABLE stocks_research.fundamentals_quarterly_raw (
    security_id     bigint  NOT NULL REFERENCES stocks_research.securities (security_id),
    source          text    NOT NULL,
    accession       text    NOT NULL,
    period_start    date    NOT NULL,
    period_end      date    NOT NULL,
    fiscal_year     integer,
    fiscal_period   text    CHECK (fiscal_period IS NULL OR fiscal_period IN ('FY','Q1','Q2','Q3','Q4')),
    form            text    NOT NULL,
    filed_date      date    NOT NULL,
    payload         jsonb   NOT NULL,
    payload_sha256  text    NOT NULL CHECK (payload_sha256 ~ '^[0-9a-f]{64}$'),
    run_id          bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL,
    PRIMARY KEY (security_id, source, accession, period_end),
    CHECK (period_end >= period_start)
);

CREATE TABLE stocks_research.fundamentals_quarterly (
    security_id        bigint  NOT NULL REFERENCES stocks_research.securities (security_id),
    period_start       date    NOT NULL,
    period_end         date    NOT NULL,
    filed_date         date    NOT NULL,
    fiscal_year        integer,
    fiscal_quarter     smallint CHECK (fiscal_quarter BETWEEN 1 AND 4),
    revenue            numeric,
    eps_diluted        numeric,
    revenue_derived    boolean NOT NULL DEFAULT false,
    eps_derived        boolean NOT NULL DEFAULT false,
    eps_approximate    boolean NOT NULL DEFAULT false,
    source_accession   text,
    run_id             bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL,
    PRIMARY KEY (security_id, period_end, filed_date)
);

CREATE TABLE stocks_research.fundamentals_quarterly_yoy (
    security_id       bigint  NOT NULL REFERENCES stocks_research.securities (security_id),
    period_end        date    NOT NULL,
    filed_date        date    NOT NULL,
    prior_period_end  date,
    revenue_yoy       numeric,
    eps_diluted_yoy   numeric,
    run_id            bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL,
    PRIMARY KEY (security_id, period_end, filed_date),
    FOREIGN KEY (security_id, period_end, filed_date)
        REFERENCES stocks_research.fundamentals_quarterly (security_id, period_end, filed_date)
        ON DELETE CASCADE
);
