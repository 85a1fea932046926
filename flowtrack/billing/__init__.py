"""The company's own subscription: its plan, Stripe's customer portal and Stripe's webhook."""
