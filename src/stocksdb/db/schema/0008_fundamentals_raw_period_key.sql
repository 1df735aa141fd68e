-- One raw row per security, accession and period: a 10-Q states the 3-month quarter and the
-- 6- or 9-month year-to-date that end on the same day, so period_start joins the key.
ALTER TABLE stocks_research.fundamentals_quarterly_raw
    DROP CONSTRAINT fundamentals_quarterly_raw_pkey;
ALTER TABLE stocks_research.fundamentals_quarterly_raw
    ADD PRIMARY KEY (security_id, source, accession, period_start, period_end);
