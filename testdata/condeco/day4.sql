-- Day four of the demo (after day3.sql).

-- 1. User 26 (Hanako Tanaka) is back: Condeco reactivates the row. Visitor
--    reactivates the same account, with the access it had.
UPDATE tblUsers SET Active = 1 WHERE UserID = 26;
