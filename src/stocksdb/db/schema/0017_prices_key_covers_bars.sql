-- One security's history read from prices_daily's primary key alone (issue 16). The key
-- (security_id, trade_date) finds a security's bars at once, but the loader writes a date at a
-- time, so they lie one to a page all over the table: a 5-year history fetched 1,258 heap pages
-- (~18 ms at 12.5M rows). The key now carries the bar's values (what stocksdb.api reads of a
-- bar), so such a read is an index-only scan of a few pages where the visibility map allows it
-- (a hydrated year is written frozen, so at once; a year loaded date by date once vacuumed).
-- About 110 MB more per year of 2.5M bars; the key's uniqueness is unchanged.
ALTER TABLE stocks_research.prices_daily DROP CONSTRAINT prices_daily_pkey;
ALTER TABLE stocks_research.prices_daily ADD CONSTRAINT prices_daily_pkey
    PRIMARY KEY (security_id, trade_date) INCLUDE (open, high, low, close, volume);
