-- Assumed Condeco schema for condeco-visitor-sync tests and the demo.
--
-- Condeco's real table and column names are NOT public. These names are
-- plausible stand-ins chosen by this project (docs/condeco-schema.md); a
-- real deployment maps its own schema by replacing condeco_users_query and
-- condeco_locations_query in configuration.
--
-- Plain SQL that both SQL Server (2016+) and SQLite accept. Flags are INT
-- (0/1) rather than BIT so the same text works on both. Text columns are
-- wider than the 64-character limit on purpose: the reader, not the
-- database, enforces that rule and reports the row.

DROP TABLE IF EXISTS tblUsers;
DROP TABLE IF EXISTS tblLocations;
DROP TABLE IF EXISTS tblRegions;
DROP TABLE IF EXISTS tblCountries;

CREATE TABLE tblCountries (
    CountryID   INT           NOT NULL PRIMARY KEY,
    CountryCode NVARCHAR(2)   NOT NULL, -- ISO 3166-1 alpha-2
    CountryName NVARCHAR(100) NOT NULL
);

CREATE TABLE tblRegions (
    RegionID   INT           NOT NULL PRIMARY KEY,
    CountryID  INT           NOT NULL REFERENCES tblCountries (CountryID),
    RegionName NVARCHAR(100) NOT NULL
);

CREATE TABLE tblLocations (
    LocationID   INT           NOT NULL PRIMARY KEY,
    RegionID     INT           NOT NULL REFERENCES tblRegions (RegionID),
    CountryID    INT           NOT NULL REFERENCES tblCountries (CountryID),
    LocationName NVARCHAR(200) NOT NULL,
    City         NVARCHAR(100) NULL,          -- read by Visitor's mapping rules (generic-v1)
    Active       INT           NOT NULL DEFAULT 1 -- 1 open, 0 closed
);

CREATE TABLE tblUsers (
    UserID            INT           NOT NULL PRIMARY KEY,
    UserName          NVARCHAR(256) NOT NULL,     -- sign-in name: an email or a plain login
    Email             NVARCHAR(256) NULL,
    FirstName         NVARCHAR(200) NULL,
    LastName          NVARCHAR(200) NULL,
    Telephone         NVARCHAR(50)  NULL,
    Mobile            NVARCHAR(50)  NULL,
    LanguageCode      NVARCHAR(20)  NULL,         -- e.g. en-GB
    AccessLevel       INT           NOT NULL DEFAULT 0, -- 0 user, 1 global, 2 country, 3 location, 4 group, 5 video admin
    UserType          INT           NOT NULL DEFAULT 1, -- 1 employee, 2 vendor, 3 visitor
    DefaultLocationID INT           NULL REFERENCES tblLocations (LocationID),
    ADUserGuid        NVARCHAR(36)  NULL,         -- Entra ID object id for SSO users
    JobTitle          NVARCHAR(200) NULL,
    Active            INT           NOT NULL DEFAULT 1, -- 0 deactivated
    Deleted           INT           NOT NULL DEFAULT 0  -- 1 deleted
);
