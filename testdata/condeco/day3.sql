-- Day three of the demo (after day2.sql): one change the third sync must
-- carry to Visitor.

-- 1. User 26 (Hanako Tanaka) goes on long leave: Condeco deactivates the
--    row. Visitor deactivates the same account and keeps its access.
UPDATE tblUsers SET Active = 0 WHERE UserID = 26;
