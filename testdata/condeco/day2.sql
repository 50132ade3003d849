-- Day two of the demo: run after schema.sql and sample.sql, then sync again.
-- Each statement is one change the second sync must carry to Visitor.

-- 1. A new starter in London.
INSERT INTO tblUsers (UserID, UserName, Email, FirstName, LastName, Telephone, Mobile, LanguageCode, AccessLevel, UserType, DefaultLocationID, ADUserGuid, Active, Deleted)
VALUES (231, N'ingrid.solberg@example.co.uk', N'ingrid.solberg@example.co.uk', N'Ingrid', N'Solberg', N'020 7946 1231', N'07911 123231', N'en-GB', 0, 1, 101, N'5a1e0000-00e7-40e7-8000-0000000000e7', 1, 0);

-- 2. User 20 (Ken 佐藤) changed their last name.
UPDATE tblUsers SET LastName = N'Sato-Hart' WHERE UserID = 20;

-- 3. User 21 left the company (Condeco marks the row deleted).
UPDATE tblUsers SET Deleted = 1 WHERE UserID = 21;

-- 4. A new office opens in Manchester.
INSERT INTO tblLocations (LocationID, RegionID, CountryID, LocationName, Active) VALUES (106, 11, 1, N'Manchester Piccadilly', 1);

-- 5. User 22 is promoted to Global admin.
UPDATE tblUsers SET AccessLevel = 1 WHERE UserID = 22;
