"""A person's own account: accepting an invitation, resetting a password, sign-in links, MFA settings, sessions."""
