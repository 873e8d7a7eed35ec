"""crm: command-line administration for a loyalty-points CRM."""

__version__ = "0.1.0"
