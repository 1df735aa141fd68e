-- Numbers must be finite (issue 9). In PostgreSQL 'NaN' sorts above every number and
-- 'Infinity' above every finite one, so the older CHECKs (open > 0, high >= low ...) let both
-- through. `x < 'Infinity'` is false for +Infinity and for NaN; the lower bounds are covered by
-- the positivity checks, or written out where a column may be negative.
ALTER TABLE stocks_research.prices_daily
    ADD CONSTRAINT prices_daily_finite CHECK (
        open < 'Infinity'::float8 AND high < 'Infinity'::float8
        AND low < 'Infinity'::float8 AND close < 'Infinity'::float8);

ALTER TABLE stocks_research.corporate_actions
    ADD CONSTRAINT corporate_actions_finite CHECK (
        (split_from IS NULL OR (split_from > '-Infinity'::float8 AND split_from < 'Infinity'::float8))
        AND (split_to IS NULL OR (split_to > '-Infinity'::float8 AND split_to < 'Infinity'::float8))
        AND (cash_amount IS NULL
             OR (cash_amount > '-Infinity'::float8 AND cash_amount < 'Infinity'::float8)));

ALTER TABLE stocks_research.adjustment_factors_daily
    ADD CONSTRAINT adjustment_factors_daily_finite CHECK (
        price_factor < 'Infinity'::float8 AND volume_factor < 'Infinity'::float8
        AND split_factor < 'Infinity'::float8 AND dividend_factor < 'Infinity'::float8);

ALTER TABLE stocks_research.macro_observations
    ADD CONSTRAINT macro_observations_finite CHECK (
        value IS NULL OR (value > '-Infinity'::float8 AND value < 'Infinity'::float8));
