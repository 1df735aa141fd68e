-- A date's cross-section as one row (issue 16). Read row by row, one date of 10,000 bars and
-- their factors costs ~25 ms before any name is read: the server sends each value through its
-- type's send function (~0.15 us a value, 90,000 values). cross_sections keeps, per date and
-- adjustment method, the date's bars and the method's factors as packed little-endian column
-- blocks, built by the cross_sections job; one row of two byteas reads in ~2 ms.
--
-- A copy is never stale: every statement that writes prices_daily or adjustment_factors_daily
-- deletes the copies of the dates it touched (the statement triggers below, from its
-- transition tables, in its own transaction), TRUNCATE deletes them all, and the job builds
-- while holding SHARE locks on both tables (no writer in between). A date without a copy is
-- read from the rows. The hydration path, which fills a fresh table and attaches it (no
-- trigger fires), deletes the copies of its year itself.
CREATE TABLE stocks_research.cross_sections (
    trade_date   date    NOT NULL,
    method       text    NOT NULL,
    -- the date's n bars in security_id order: security_id (int64 x n), then open, high, low,
    -- close (float8 x n each), then volume (int64 x n)
    bars         bytea   NOT NULL,
    -- transactions of the same bars (int64 x n, -1 where NULL)
    transactions bytea   NOT NULL,
    -- the method's factors of the same bars: price_factor, then volume_factor (float8 x n
    -- each), NaN where a bar has no factor row
    factors      bytea   NOT NULL,
    factor_rows  integer NOT NULL,   -- the bars with a factor row
    run_id       bigint,
    PRIMARY KEY (trade_date, method)
);
-- Packed floats do not compress: stored out of line as they are, read without pglz.
ALTER TABLE stocks_research.cross_sections
    ALTER COLUMN bars SET STORAGE EXTERNAL,
    ALTER COLUMN transactions SET STORAGE EXTERNAL,
    ALTER COLUMN factors SET STORAGE EXTERNAL;

CREATE FUNCTION stocks_research.cross_sections_forget_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM stocks_research.cross_sections) THEN
        DELETE FROM stocks_research.cross_sections
         WHERE trade_date IN (SELECT DISTINCT trade_date FROM changed);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION stocks_research.cross_sections_forget_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM stocks_research.cross_sections) THEN
        DELETE FROM stocks_research.cross_sections
         WHERE trade_date IN (SELECT trade_date FROM changed_before
                              UNION SELECT trade_date FROM changed);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION stocks_research.cross_sections_forget_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM stocks_research.cross_sections;
    RETURN NULL;
END $$;

CREATE TRIGGER cross_sections_forget_inserted AFTER INSERT ON stocks_research.prices_daily
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_inserted();
CREATE TRIGGER cross_sections_forget_deleted AFTER DELETE ON stocks_research.prices_daily
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_inserted();
CREATE TRIGGER cross_sections_forget_updated AFTER UPDATE ON stocks_research.prices_daily
    REFERENCING OLD TABLE AS changed_before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_updated();
CREATE TRIGGER cross_sections_forget_all AFTER TRUNCATE ON stocks_research.prices_daily
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_all();

CREATE TRIGGER cross_sections_forget_inserted AFTER INSERT
    ON stocks_research.adjustment_factors_daily
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_inserted();
CREATE TRIGGER cross_sections_forget_deleted AFTER DELETE
    ON stocks_research.adjustment_factors_daily
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_inserted();
CREATE TRIGGER cross_sections_forget_updated AFTER UPDATE
    ON stocks_research.adjustment_factors_daily
    REFERENCING OLD TABLE AS changed_before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_updated();
CREATE TRIGGER cross_sections_forget_all AFTER TRUNCATE
    ON stocks_research.adjustment_factors_daily
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.cross_sections_forget_all();

-- When the names of securities last changed: a reader that keeps every security's composite
-- FIGI and ticker intervals (~12 ms to read for 10,000 securities) reuses them while this
-- stays the same. Every statement on securities or ticker_history moves it forward, in the
-- writer's transaction, so a reader sees it move when, and only when, it sees the new names.
-- changed_at is an audit column (`db checksum` leaves it out): two databases with the same
-- names have the same checksum.
CREATE TABLE stocks_research.names_changed (
    one        boolean     PRIMARY KEY DEFAULT true CHECK (one),
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO stocks_research.names_changed DEFAULT VALUES;

CREATE FUNCTION stocks_research.names_changed_now() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Strictly later than before, whatever the clock does.
    UPDATE stocks_research.names_changed
       SET changed_at = greatest(clock_timestamp(), changed_at + interval '1 microsecond');
    RETURN NULL;
END $$;

CREATE TRIGGER names_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON stocks_research.securities
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.names_changed_now();
CREATE TRIGGER names_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON stocks_research.ticker_history
    FOR EACH STATEMENT EXECUTE FUNCTION stocks_research.names_changed_now();
