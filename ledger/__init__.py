"""The domain: accounts, journal, holds, vouchers, awards, claims and their persistence."""
