-- What trading_sessions speaks for (issue 14): per exchange, the dates the trading_sessions job
-- has filled. Inside `covered` a date without a trading_sessions row is not a session (a
-- holiday, a weekend, an ad hoc closure); outside it the table says nothing, and readers fall
-- back to the exchange_calendars calendar. Ranges are merged: re-filling a covered range leaves
-- the row as it was.
CREATE TABLE stocks_research.trading_session_coverage (
    exchange  text PRIMARY KEY,
    covered   datemultirange NOT NULL CHECK (NOT isempty(covered))
);
