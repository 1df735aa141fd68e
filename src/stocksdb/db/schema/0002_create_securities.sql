-- Securities master (identity = composite FIGI) and point-in-time ticker history.

-- FIGI check digit: the ISIN-style modulus-10 "double add double" over the first 11 characters
-- (letters map to their position value A=10 .. Z=35; every second character doubled).
CREATE FUNCTION stocks_research.figi_is_valid(figi text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    total integer := 0;
    v integer;
    ch text;
BEGIN
    IF figi !~ '^BBG[B-DF-HJ-NP-TV-Z0-9]{8}[0-9]$' THEN
        RETURN false;
    END IF;
    FOR i IN 1..11 LOOP
        ch := substr(figi, i, 1);
        IF ch ~ '[0-9]' THEN v := ascii(ch) - 48; ELSE v := ascii(ch) - 55; END IF;
        IF i % 2 = 0 THEN v := v * 2; END IF;
        total := total + (v / 10) + (v % 10);
    END LOOP;
    RETURN (10 - total % 10) % 10 = (ascii(substr(figi, 12, 1)) - 48);
END;
$$;

CREATE TABLE stocks_research.securities (
    security_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    composite_figi    text    NOT NULL UNIQUE
                      CHECK (stocks_research.figi_is_valid(composite_figi)),
    share_class_figi  text    CHECK (share_class_figi IS NULL
                                     OR stocks_research.figi_is_valid(share_class_figi)),
    name              text,
    security_type     text,
    primary_exchange  text    CHECK (primary_exchange IS NULL OR primary_exchange ~ '^[A-Z0-9]{4}$'),
    currency          text    CHECK (currency IS NULL OR currency ~ '^[A-Z]{3}$'),
    cik               text    CHECK (cik IS NULL OR cik ~ '^[0-9]{10}$'),
    list_date         date,
    delist_date       date,
    is_active         boolean NOT NULL DEFAULT true,
    run_id            bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL,
    updated_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (delist_date IS NULL OR list_date IS NULL OR delist_date >= list_date)
);
CREATE INDEX securities_cik_idx ON stocks_research.securities (cik) WHERE cik IS NOT NULL;

-- valid_to is exclusive: the first date on which the ticker no longer names this security
-- (NULL = still valid). Half-open intervals let a rename share its boundary date.
CREATE TABLE stocks_research.ticker_history (
    ticker       text    NOT NULL CHECK (ticker ~ '^[A-Z0-9][A-Z0-9.\-]{0,15}$'),
    valid_from   date    NOT NULL,
    valid_to     date,
    security_id  bigint  NOT NULL REFERENCES stocks_research.securities (security_id),
    run_id       bigint  REFERENCES ingestion.job_runs (run_id) ON DELETE SET NULL,
    PRIMARY KEY (ticker, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX ticker_history_security_idx ON stocks_research.ticker_history (security_id, valid_from);

-- No btree_gist in the embedded server, so overlaps are refused by a trigger (the gate checks
-- the same invariant): no two rows of one ticker overlap, one security has one ticker at a time.
CREATE FUNCTION stocks_research.ticker_history_no_overlap() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    clash record;
BEGIN
    SELECT t.ticker, t.valid_from, t.valid_to, t.security_id INTO clash
      FROM stocks_research.ticker_history t
     WHERE (t.ticker = NEW.ticker OR t.security_id = NEW.security_id)
       AND (t.ticker, t.valid_from) <> (NEW.ticker, NEW.valid_from)
       AND daterange(t.valid_from, t.valid_to) && daterange(NEW.valid_from, NEW.valid_to)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ticker_history row (%, %, %) for security % overlaps (%, %, %) for security %',
            NEW.ticker, NEW.valid_from, NEW.valid_to, NEW.security_id,
            clash.ticker, clash.valid_from, clash.valid_to, clash.security_id
            USING ERRCODE = 'exclusion_violation';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER ticker_history_no_overlap
    AFTER INSERT OR UPDATE ON stocks_research.ticker_history
    DEFERRABLE INITIALLY IMMEDIATE
    FOR EACH ROW EXECUTE FUNCTION stocks_research.ticker_history_no_overlap();

-- Point-in-time resolution: the security a ticker named on a date (NULL when none).
CREATE FUNCTION stocks_research.resolve_ticker(p_ticker text, p_date date) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT security_id FROM stocks_research.ticker_history
     WHERE ticker = upper(p_ticker) AND valid_from <= p_date
       AND (valid_to IS NULL OR p_date < valid_to)
     ORDER BY valid_from DESC LIMIT 1
$$;

-- The current universe under the names the seed-004 consumers use.
CREATE VIEW stocks_research.tickers AS
SELECT th.ticker AS symbol, th.security_id AS symbol_id, s.composite_figi, s.name
  FROM stocks_research.ticker_history th
  JOIN stocks_research.securities s USING (security_id)
 WHERE th.valid_from <= current_date AND (th.valid_to IS NULL OR current_date < th.valid_to);
