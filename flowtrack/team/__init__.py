"""The admin's team page: invite, change roles, deactivate, sign out everywhere, MFA."""
